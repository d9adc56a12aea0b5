"""Bad input gets a clear JSON-RPC error with the right code, and the connection stays up."""

from __future__ import annotations

from tests.conftest import Servers
from tests.support.client import RpcClient, StdioClient
from tests.support.homes import BASE_MS, ThreadSpec, write_thread

THREAD_ID = "019a0000-0000-7000-8000-000000000000"


async def assert_still_serving(client: RpcClient) -> None:
    reply = await client.request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
    assert reply.message == "Already initialized"


async def test_unknown_method_is_method_not_found(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("foo/bar", {})
    assert (reply.code, reply.message) == (-32601, "Method not found: foo/bar")


async def test_upstream_method_we_do_not_implement_is_method_not_found(
    stdio_client: RpcClient,
) -> None:
    reply = await stdio_client.request("plugin/read", {})
    assert reply.code == -32601
    assert reply.message == "Method not supported by this server: plugin/read"


async def test_wrong_param_type_names_the_field(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("thread/read", {"threadId": 5})
    assert reply.code == -32602
    assert "`threadId`" in reply.message
    assert "valid string" in reply.message


async def test_missing_required_field_names_the_field(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("thread/read", {})
    assert (reply.code, reply.message) == (-32602, "Invalid params: `threadId`: missing field")


async def test_unknown_enum_value_lists_the_allowed_values(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("thread/list", {"sortKey": "bogus"})
    assert reply.code == -32602
    assert "`sortKey`" in reply.message
    assert "'created_at'" in reply.message
    assert '"bogus"' in reply.message


async def test_unknown_tagged_variant_names_the_item(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request(
        "turn/start", {"threadId": "t", "input": [{"type": "bogus"}]}
    )
    assert reply.code == -32602
    assert "`input[0]`" in reply.message
    assert "'localImage'" in reply.message


async def test_an_image_or_audio_input_without_url_or_file_id_is_invalid_params_on_turn_start(
    stdio_client: RpcClient,
) -> None:
    """The schema's `anyOf` (a `url` or a `fileId`) is checked when params are read, for every
    method that takes `UserInput`, before the thread is even looked up (as codex refuses it
    when deserializing)."""
    for kind in ("image", "audio"):
        reply = await stdio_client.request(
            "turn/start",
            {"threadId": "t", "input": [{"type": "text", "text": "x"}, {"type": kind}]},
        )
        assert reply.code == -32602
        assert "`input[1]" in reply.message
        assert f"an {kind} input needs a `url` or a `fileId`" in reply.message


async def test_negative_limit_is_invalid_params(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("thread/list", {"limit": -1})
    assert reply.code == -32602
    assert "`limit`" in reply.message


async def test_params_that_are_not_an_object_are_invalid_params(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("thread/read", [1, 2])
    assert reply.code == -32602


async def test_missing_params_on_method_with_required_fields_is_invalid_params(
    stdio_client: RpcClient,
) -> None:
    reply = await stdio_client.request("thread/read", omit_params=True)
    assert reply.code == -32602
    assert "params" in reply.message


async def test_line_that_is_not_json_is_answered_with_parse_error(
    stdio_client: StdioClient,
) -> None:
    await stdio_client.send_raw("this is not json")
    await stdio_client.wait_for(lambda: len(stdio_client.unmatched) == 1)
    error = stdio_client.unmatched[0]
    assert error["id"] is None
    assert error["error"]["code"] == -32700
    await assert_still_serving(stdio_client)


async def test_json_that_is_not_a_message_is_invalid_request(stdio_client: StdioClient) -> None:
    await stdio_client.send_raw('{"id": 9, "hello": "world"}')
    await stdio_client.wait_for(lambda: len(stdio_client.unmatched) == 1)
    error = stdio_client.unmatched[0]
    assert (error["id"], error["error"]["code"]) == (9, -32600)


async def test_batch_is_refused_with_invalid_request(stdio_client: StdioClient) -> None:
    await stdio_client.send_raw('[{"id": 1, "method": "initialize"}]')
    await stdio_client.wait_for(lambda: len(stdio_client.unmatched) == 1)
    error = stdio_client.unmatched[0]
    assert (error["id"], error["error"]["code"]) == (None, -32600)
    assert "batch" in error["error"]["message"]


async def test_float_id_is_refused_without_echoing_it(stdio_client: StdioClient) -> None:
    await stdio_client.send_raw('{"id": 1.5, "method": "thread/list", "params": {}}')
    await stdio_client.wait_for(lambda: len(stdio_client.unmatched) == 1)
    error = stdio_client.unmatched[0]
    assert (error["id"], error["error"]["code"]) == (None, -32600)


async def test_oversized_line_is_refused_and_connection_stays_up(
    stdio_client: StdioClient,
) -> None:
    big = (
        '{"id": 77, "method": "thread/list", "params": {"searchTerm": "' + "x" * (17 << 20) + '"}}'
    )
    await stdio_client.send_raw(big)
    await stdio_client.wait_for(lambda: len(stdio_client.unmatched) == 1, timeout=30)
    error = stdio_client.unmatched[0]
    assert error["error"]["code"] == -32600
    assert "exceeds the 16777216-byte limit" in error["error"]["message"]
    await assert_still_serving(stdio_client)


async def test_string_id_is_echoed_verbatim(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("foo/bar", {}, request_id="abc-1")
    assert reply.id == "abc-1"
    assert reply.code == -32601


async def test_integer_id_is_echoed_verbatim(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("foo/bar", {}, request_id=9_007_199_254_740_993)
    assert reply.id == 9_007_199_254_740_993


async def test_experimental_method_without_capability_is_refused(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("thread/search", {"searchTerm": "x"})
    assert (reply.code, reply.message) == (
        -32600,
        "thread/search requires experimentalApi capability",
    )


async def test_experimental_field_without_capability_is_refused(stdio_client: RpcClient) -> None:
    reply = await stdio_client.request("thread/start", {"historyMode": "legacy"})
    assert (reply.code, reply.message) == (
        -32600,
        "thread/start.historyMode requires experimentalApi capability",
    )


async def test_experimental_enum_variant_without_capability_is_refused(
    stdio_client: RpcClient,
) -> None:
    granular = {"granular": {"mcp_elicitations": True, "rules": True, "sandbox_approval": True}}
    reply = await stdio_client.request("thread/start", {"approvalPolicy": granular})
    assert (reply.code, reply.message) == (
        -32600,
        "askForApproval.granular requires experimentalApi capability",
    )


async def test_client_notification_is_never_answered(stdio_client: StdioClient) -> None:
    await stdio_client.notify("some/notification", {"x": 1})
    await stdio_client.notify("initialized")
    await assert_still_serving(stdio_client)
    assert stdio_client.unmatched == []


async def test_response_with_unknown_id_is_ignored(stdio_client: StdioClient) -> None:
    await stdio_client.respond(12345, {"decision": "accept"})
    await assert_still_serving(stdio_client)
    assert stdio_client.unmatched == []


async def experimental_client(servers: Servers) -> RpcClient:
    client = await servers.stdio()
    await client.initialize(experimental=True)
    return client


async def test_resume_path_with_a_file_name_over_255_bytes_is_invalid_params_naming_path(
    servers: Servers,
) -> None:
    """Issue 14: `is_file()` raised ENAMETOOLONG and the client got -32603."""
    client = await experimental_client(servers)
    params = {"threadId": THREAD_ID, "path": "/tmp/" + "a" * 300 + ".jsonl"}
    reply = await client.request("thread/resume", params)
    assert (reply.code, reply.message) == (
        -32602,
        "Invalid params: `path`: file name is longer than 255 bytes",
    )


async def test_resume_path_of_a_megabyte_is_invalid_params_naming_path(servers: Servers) -> None:
    client = await experimental_client(servers)
    params = {"threadId": THREAD_ID, "path": "/tmp/" + "a/" * (1 << 19)}
    reply = await client.request("thread/resume", params)
    assert reply.code == -32602
    assert reply.message.startswith("Invalid params: `path`: ")


async def test_thread_search_for_a_term_with_a_nul_character_is_answered(
    servers: Servers,
) -> None:
    """Issue 14: FTS5 read the NUL as the end of its query (`unterminated string`) → -32603.
    The term is now matched as `thread/list`'s search matches it."""
    spec = ThreadSpec(BASE_MS, salt=1, text="say hel\u0000lo")
    write_thread(servers.dirs.data_dir, spec)
    write_thread(servers.dirs.data_dir, ThreadSpec(BASE_MS + 1000, salt=2, text="hello"))
    client = await experimental_client(servers)
    result = await client.call("thread/search", {"searchTerm": "hel\u0000"})
    assert [hit["thread"]["id"] for hit in result["data"]] == [spec.thread_id]


async def test_thread_start_cwd_with_a_nul_character_is_invalid_params(
    stdio_client: RpcClient,
) -> None:
    """No directory can be named so: the thread's first command would fail with a ValueError."""
    reply = await stdio_client.request("thread/start", {"cwd": "/tmp/a\u0000b"})
    assert (reply.code, reply.message) == (
        -32602,
        "Invalid params: `cwd`: contains a NUL character",
    )


async def test_turn_start_local_image_path_too_long_is_invalid_params_naming_the_item(
    stdio_client: RpcClient,
) -> None:
    thread = await stdio_client.call("thread/start", {})
    image = {"type": "localImage", "path": "x" * 5000}
    reply = await stdio_client.request(
        "turn/start", {"threadId": thread["thread"]["id"], "input": [image]}
    )
    assert (reply.code, reply.message) == (
        -32602,
        "Invalid params: `input[0].path`: longer than 4095 bytes",
    )


async def test_model_list_cursor_of_unicode_digits_is_invalid_request(
    stdio_client: RpcClient,
) -> None:
    """`"²".isdigit()` is true but `int("²")` raises: that was a -32603."""
    reply = await stdio_client.request("model/list", {"cursor": "²"})
    assert (reply.code, reply.message) == (-32600, "invalid cursor: ²")


async def test_thread_start_cwd_in_an_unknown_users_home_is_invalid_params(
    stdio_client: RpcClient,
) -> None:
    """Found by the process fuzz: expanding `~user` raised RuntimeError, answered -32603."""
    reply = await stdio_client.request("thread/start", {"cwd": "~no-such-user-xyz/x"})
    assert (reply.code, reply.message) == (
        -32602,
        "Invalid params: `cwd`: `~no-such-user-xyz` names no user's home directory",
    )
