"""The JSON-RPC core: incoming-message classification, connections, dispatch, error mapping."""
