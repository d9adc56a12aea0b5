"""The host file system as IDE clients reach it (`fs/*` methods): plain file operations on
absolute paths, and watches that report changes."""
