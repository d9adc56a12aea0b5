"""Standalone processes that clients start outside any turn (`command/exec`, `process/spawn`):
spawning with pipes or a pty, output caps and streaming, stdin, resizing, killing by process
group, and the per-connection table that ends them all when the connection goes away."""
