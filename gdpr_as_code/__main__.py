"""``python -m gdpr_as_code``: the same CLI as the ``gdpr-as-code`` command."""

from gdpr_as_code.cli import main

raise SystemExit(main())
