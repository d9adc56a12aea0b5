"""The generated wire types, one module per shared type.

Import them from `protocol.types`, which loads these modules lazily.
"""
