"""Post the plan as the pull request's gdpr-as-code comment, or update the one an earlier run posted (found
by a hidden marker naming the spec), so a pull request carries one current plan per spec.

Standard library only (it runs before and beside any install). Reads GITHUB_API_URL, GITHUB_REPOSITORY,
GITHUB_TOKEN, PR_NUMBER and SPEC from the environment, as the action sets them.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from typing import Any

GITHUB_LIMIT = 65_536  # characters in one comment; the Markdown plan stays under 50,000 by itself


def call(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    request.add_header("Authorization", f"Bearer {os.environ['GITHUB_TOKEN']}")
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def main(plan_markdown: str) -> int:
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    issue = f"{api}/repos/{os.environ['GITHUB_REPOSITORY']}/issues/{os.environ['PR_NUMBER']}"
    marker = f"<!-- gdpr-as-code plan: {os.environ['SPEC']} -->"
    with open(plan_markdown, encoding="utf-8") as file:
        body = f"{marker}\n{file.read()}"[:GITHUB_LIMIT]
    page = 1
    while comments := call("GET", f"{issue}/comments?per_page=100&page={page}"):
        mine = next((c for c in comments if marker in (c.get("body") or "")), None)
        if mine:
            call("PATCH", f"{api}/repos/{os.environ['GITHUB_REPOSITORY']}/issues/comments/{mine['id']}",
                 {"body": body})
            print(f"Updated the plan comment {mine['html_url']}")
            return 0
        page += 1
    made = call("POST", f"{issue}/comments", {"body": body})
    print(f"Posted the plan comment {made['html_url']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
