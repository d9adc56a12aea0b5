"""Thin method handlers, one module per domain; they validate nothing the dispatcher already did
and hold no state of their own beyond references to the services they call."""
