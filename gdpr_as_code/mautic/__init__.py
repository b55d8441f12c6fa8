"""The HTTP boundary to one Mautic: ``client`` (sending, retries, paging, request counting), ``auth`` (Basic
and OAuth2 client credentials), ``answers`` (what Mautic's answers mean: list shapes, error bodies turned into
one-paragraph errors). Nothing else in the package speaks HTTP to Mautic."""
