"""The domain: what an intercept request is, the flows it goes through, and the rules they keep.
It imports no adapter (Flask, requests, SQLAlchemy, APScheduler, webexpythonsdk): it talks to the
outside world through the protocols in `ports` and `stores`. See docs/architecture.md."""
