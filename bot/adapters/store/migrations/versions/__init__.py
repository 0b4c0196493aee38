"""The revisions. Each file is frozen once released: it uses plain SQLAlchemy types, never the
project's tables or types, so that it means the same thing whatever the code becomes."""
