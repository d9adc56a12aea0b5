"""The PostgreSQL store: several app-server processes serve one history from one database."""
