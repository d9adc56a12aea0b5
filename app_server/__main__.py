"""`python -m app_server`: same as the `app-server` command."""

from app_server.launch import main

raise SystemExit(main())
