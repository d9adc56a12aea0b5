"""The Chat Completions provider (`wire_api = "chat"`), for servers without `/responses`.

The turn runner speaks one stream vocabulary, the Responses API's; this module translates both
ways so nothing above it knows which wire carried a turn:

* request: `instructions` → a system message; Responses `input` items → chat messages
  (calls → assistant `tool_calls`, outputs → `tool` messages, reasoning dropped); function and
  freeform tools → chat function tools (namespaced ones flattened to `<namespace>__<name>`);
* stream: content / reasoning / tool-call deltas → `response.output_item.added`,
  `response.output_text.delta`, … `response.output_item.done`; the usage chunk and `[DONE]` →
  `response.completed` with Responses usage names.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from app_server.agent.providers.base import RESPONSE_HEADERS_EVENT, ProviderError, SamplingRequest
from app_server.agent.providers.provider_errors import failure_event_error, stream_error
from app_server.agent.providers.sse_transport import SSE_DONE_TYPE, SseProvider

CHAT_COMPLETIONS_PATH = "/chat/completions"
NAMESPACE_SEPARATOR = "__"
"""Chat function names allow `[a-zA-Z0-9_-]`, so `clock.now` travels as `clock__now`."""
CUSTOM_INPUT_PARAMETER = "input"
"""A freeform tool becomes a function with one string parameter carrying the raw input."""
INCOMPLETE_FINISH_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})


class ChatCompletionsProvider(SseProvider):
    """`POST {base_url}/chat/completions` with `stream: true`, translated to Responses events."""

    async def stream(self, request: SamplingRequest) -> AsyncGenerator[dict[str, Any], None]:
        """Headers event, then Responses events up to `response.completed` (see module doc)."""
        tools = ChatTools(request.tools)
        body = {"model": request.model, "stream": True, **chat_body(request, tools)}
        events = self._sse(CHAT_COMPLETIONS_PATH, body, request.headers)
        translator = ChatStreamTranslator(tools)
        done = False
        try:
            async for chunk in events:
                kind = chunk.get("type")
                if kind == RESPONSE_HEADERS_EVENT:
                    yield chunk
                elif kind == SSE_DONE_TYPE:
                    done = True
                    break
                else:
                    for event in translator.feed(chunk):
                        yield event
            if not done and not translator.finished:
                raise stream_error("stream closed before [DONE]")
            for event in translator.finish():
                yield event
            if done:
                await self._drain(events)
        finally:
            await events.aclose()


class ChatTools:
    """The request's tools in chat form, and the way back from a chat call to a Responses item."""

    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.specs: list[dict[str, Any]] = []
        self._origin: dict[str, tuple[str | None, str, bool]] = {}
        for tool in tools:
            if tool.get("type") == "namespace":
                for inner in tool.get("tools") or []:
                    self._add(inner, str(tool.get("name") or ""))
            else:
                self._add(tool, None)

    def _add(self, tool: Mapping[str, Any], namespace: str | None) -> None:
        kind, name = tool.get("type"), str(tool.get("name") or "")
        if kind not in ("function", "custom") or not name:
            return  # hosted tools (web_search, …) have no chat equivalent
        chat_name = chat_tool_name(namespace, name)
        custom = kind == "custom"
        if custom:
            parameters: Any = {
                "type": "object",
                "properties": {CUSTOM_INPUT_PARAMETER: {"type": "string"}},
                "required": [CUSTOM_INPUT_PARAMETER],
            }
        else:
            parameters = tool.get("parameters") or {"type": "object", "properties": {}}
        function: dict[str, Any] = {
            "name": chat_name,
            "description": tool.get("description") or "",
            "parameters": parameters,
        }
        if not custom and tool.get("strict") is not None:
            function["strict"] = tool["strict"]
        self.specs.append({"type": "function", "function": function})
        self._origin[chat_name] = (namespace, name, custom)

    def origin(self, chat_name: str) -> tuple[str | None, str, bool]:
        """(namespace, name, is_custom) of a tool the model called by its chat name."""
        return self._origin.get(chat_name, (None, chat_name, False))


def chat_tool_name(namespace: str | None, name: str) -> str:
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}" if namespace else name


def chat_body(request: SamplingRequest, tools: ChatTools) -> dict[str, Any]:
    """The chat request body besides `model` and `stream`."""
    body: dict[str, Any] = {
        "messages": chat_messages(request.instructions, request.input),
        "stream_options": {"include_usage": True},
    }
    if tools.specs:
        body["tools"] = tools.specs
        body["tool_choice"] = request.tool_choice
        body["parallel_tool_calls"] = request.parallel_tool_calls
    effort = (request.reasoning or {}).get("effort")
    if effort:
        body["reasoning_effort"] = effort
    text_format = (request.text or {}).get("format")
    if isinstance(text_format, Mapping) and text_format.get("type") == "json_schema":
        schema = {k: v for k, v in text_format.items() if k != "type"}
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    return body


def chat_messages(instructions: str | None, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Responses `input` items → chat messages (reasoning and unknown items are dropped)."""
    messages: list[dict[str, Any]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            messages.append(_message(item))
        elif kind in ("function_call", "custom_tool_call"):
            custom = kind == "custom_tool_call"
            arguments = (
                orjson.dumps({CUSTOM_INPUT_PARAMETER: item.get("input") or ""}).decode()
                if custom
                else item.get("arguments") or "{}"
            )
            call = {
                "id": item.get("call_id") or item.get("id") or "",
                "type": "function",
                "function": {
                    "name": chat_tool_name(item.get("namespace"), str(item.get("name") or "")),
                    "arguments": arguments,
                },
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind in ("function_call_output", "custom_tool_call_output"):
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item.get("call_id") or "",
                    "content": _output_text(item.get("output")),
                }
            )
    return messages


def _message(item: Mapping[str, Any]) -> dict[str, Any]:
    role = item.get("role") or "user"
    role = "system" if role == "developer" else role
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    parts: list[dict[str, Any]] = []
    for part in content or []:
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            parts.append({"type": "text", "text": part.get("text") or ""})
        elif kind == "input_image" and role == "user":
            parts.append({"type": "image_url", "image_url": {"url": part.get("image_url") or ""}})
    if all(part["type"] == "text" for part in parts):
        return {"role": role, "content": "".join(part["text"] for part in parts)}
    return {"role": role, "content": parts}


def _output_text(output: Any) -> str:
    """A tool output: a string, or content items whose texts are joined."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "".join(str(part.get("text") or "") for part in output if isinstance(part, Mapping))
    return "" if output is None else orjson.dumps(output, default=str).decode()


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


class ChatStreamTranslator:
    """Chat chunks → Responses events (sans I/O: feed chunks, then `finish()` at `[DONE]`)."""

    def __init__(self, tools: ChatTools) -> None:
        self._tools = tools
        self.response_id = _new_id("resp")
        self._created = False
        self._items: list[dict[str, Any]] = []
        """Final item JSON in output order (open items are completed by `_close`)."""
        self._open_text: dict[str, Any] | None = None
        self._open_reasoning: dict[str, Any] | None = None
        self._calls: dict[int, dict[str, Any]] = {}
        self._open_calls: list[dict[str, Any]] = []
        self._usage: dict[str, Any] | None = None
        self._finish_reason: str | None = None

    @property
    def finished(self) -> bool:
        """A choice said why it stopped (a server that omits `[DONE]` may end here)."""
        return self._finish_reason is not None

    def feed(self, chunk: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Responses events one chat chunk produces; raises for an `error` chunk."""
        if isinstance(chunk.get("error"), Mapping):
            raise failure_event_error({"type": "response.failed", "response": chunk})
        events: list[dict[str, Any]] = []
        if not self._created:
            self._created = True
            if isinstance(chunk.get("id"), str) and chunk["id"]:
                self.response_id = chunk["id"]
            response = {"id": self.response_id, "status": "in_progress", "output": []}
            if chunk.get("model"):
                response["model"] = chunk["model"]
            events.append({"type": "response.created", "response": response})
        if isinstance(chunk.get("usage"), Mapping):
            self._usage = responses_usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning") or delta.get("reasoning_content")
            if reasoning:
                self._reasoning_delta(str(reasoning), events)
            if delta.get("content"):
                self._text_delta(str(delta["content"]), events)
            for call in delta.get("tool_calls") or []:
                self._call_delta(call, events)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[dict[str, Any]]:
        """Close every open item and complete the response (or raise for a cut-off answer)."""
        incomplete = INCOMPLETE_FINISH_REASONS.get(self._finish_reason or "")
        if incomplete:
            raise ProviderError(
                f"Incomplete response returned, reason: {incomplete}",
                codex_error_info="other",
                details=f"finish_reason: {self._finish_reason}",
            )
        events = self.feed({}) if not self._created else []
        self._close_text(events)
        self._close_reasoning(events)
        self._close_calls(events)
        response = {
            "id": self.response_id,
            "status": "completed",
            "output": self._items,
            "usage": self._usage,
        }
        events.append({"type": "response.completed", "response": response})
        return events

    # -- items ------------------------------------------------------------------------------------

    def _start(self, item: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
        """Open an output item: announce it and give it the next output index."""
        started = dict(item)
        item["output_index"] = len(self._items)
        item["_text"] = []
        self._items.append(item)
        added = {"type": "response.output_item.added", "output_index": item["output_index"]}
        events.append({**added, "item": started})
        return item

    def _delta(
        self, kind: str, item: dict[str, Any], delta: str, events: list[dict[str, Any]]
    ) -> None:
        item["_text"].append(delta)
        event = {"type": f"response.{kind}.delta", "item_id": item["id"]}
        event["output_index"] = item["output_index"]
        if kind in ("output_text", "reasoning_text"):
            event["content_index"] = 0
        events.append({**event, "delta": delta})

    def _done(self, item: dict[str, Any], events: list[dict[str, Any]]) -> None:
        """Close an item whose final fields the caller has filled in from `_take_text`."""
        index = item.pop("output_index")
        item["status"] = "completed"
        done = {"type": "response.output_item.done", "output_index": index, "item": item}
        events.append(done)

    def _text_delta(self, text: str, events: list[dict[str, Any]]) -> None:
        self._close_reasoning(events)
        if self._open_text is None:
            message: dict[str, Any] = {"type": "message", "id": _new_id("msg"), "role": "assistant"}
            message.update(status="in_progress", content=[])
            self._open_text = self._start(message, events)
        self._delta("output_text", self._open_text, text, events)

    def _close_text(self, events: list[dict[str, Any]]) -> None:
        item, self._open_text = self._open_text, None
        if item is not None:
            text = _take_text(item)
            item["content"] = [{"type": "output_text", "text": text, "annotations": []}]
            self._done(item, events)

    def _reasoning_delta(self, text: str, events: list[dict[str, Any]]) -> None:
        if self._open_reasoning is None:
            reasoning = {"type": "reasoning", "id": _new_id("rs"), "summary": []}
            self._open_reasoning = self._start(reasoning, events)
        self._delta("reasoning_text", self._open_reasoning, text, events)

    def _close_reasoning(self, events: list[dict[str, Any]]) -> None:
        item, self._open_reasoning = self._open_reasoning, None
        if item is not None:
            item["content"] = [{"type": "reasoning_text", "text": _take_text(item)}]
            self._done(item, events)

    def _call_delta(self, call: Mapping[str, Any], events: list[dict[str, Any]]) -> None:
        # Servers that omit `index` send each call whole (a new `id`) or continue the last one.
        index = call.get("index", len(self._calls) if call.get("id") else len(self._calls) - 1)
        native_custom = call.get("type") == "custom" or isinstance(call.get("custom"), Mapping)
        payload = call.get("custom" if native_custom else "function") or {}
        item = self._calls.get(index)
        if item is None:
            self._close_text(events)
            self._close_reasoning(events)
            namespace, name, custom = self._tools.origin(str(payload.get("name") or ""))
            custom = custom or native_custom
            kind = "custom_tool_call" if custom else "function_call"
            item = {"type": kind, "id": _new_id("ctc" if custom else "fc")}
            item.update(status="in_progress", call_id=call.get("id") or _new_id("call"))
            item["name"] = name
            if namespace:
                item["namespace"] = namespace
            item["input" if custom else "arguments"] = ""
            item = self._calls[index] = self._start(item, events)
            item["_native"] = native_custom
            self._open_calls.append(item)
        piece = payload.get("input" if native_custom else "arguments")
        if piece:
            if item["type"] == "function_call":
                self._delta("function_call_arguments", item, piece, events)
            elif item["_native"]:
                self._delta("custom_tool_call_input", item, piece, events)
            else:  # JSON-wrapped freeform input: unwrapped when the call is done
                item["_text"].append(piece)

    def _close_calls(self, events: list[dict[str, Any]]) -> None:
        for item in self._open_calls:
            native, text = item.pop("_native"), _take_text(item)
            if item["type"] == "function_call":
                item["arguments"] = text
            else:
                item["input"] = text if native else _custom_input(text)
            self._done(item, events)
        self._open_calls.clear()


def _take_text(item: dict[str, Any]) -> str:
    """The text streamed into an open item (its private `_text` buffer, removed)."""
    return "".join(item.pop("_text"))


def _custom_input(arguments: str) -> str:
    """The freeform input a function-shaped call to a custom tool carried in `{"input": …}`."""
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(parsed, dict) and isinstance(parsed.get(CUSTOM_INPUT_PARAMETER), str):
        return str(parsed[CUSTOM_INPUT_PARAMETER])
    return arguments


def responses_usage(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Chat usage names → Responses usage names (`prompt_tokens` → `input_tokens`, …)."""
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    input_tokens = int(usage.get("prompt_tokens") or 0)
    output_tokens = int(usage.get("completion_tokens") or 0)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": int(prompt.get("cached_tokens") or 0)},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": int(completion.get("reasoning_tokens") or 0)},
        "total_tokens": int(usage.get("total_tokens") or input_tokens + output_tokens),
    }
