"""`@`-mention file search (`fuzzyFileSearch` and its sessions): a gitignore-aware walk of the
roots kept as an index, and an fzf-style fuzzy matcher over relative paths."""
