"""Pure recovery logic: the declared action catalog, planning and verification."""
