"""Which handler serves which method (part of the composition root, `app_server.server`).

Why lazily: a CLI frontend spawns the server for a session and sends `thread/start` and
`turn/start` right after `initialize`; importing every API module up front (fs, processes,
file search, MCP, config writes, queues, …, with the wire models each of them names) cost
~150 ms CPU before the first turn could start. So the handlers of the first requests
(`thread/start`, `thread/list`, `thread/read`, `turn/*`) are built with the server, and every
other group of handlers is a `LazyGroup`: its module is imported, and the group built, on the
first request of one of its methods (a few ms, once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from app_server.api.initialize import InitializeHandler
from app_server.api.thread_queries import ThreadQueryHandlers
from app_server.api.threads import ThreadLifecycleHandlers
from app_server.api.turns import TurnHandlers
from app_server.client_connection import ClientConnection
from app_server.rpc.dispatcher import Handler
from app_server.threads.stored_operations import StoredThreadOperations

if TYPE_CHECKING:
    from app_server.api.account import AccountHandlers
    from app_server.api.background_terminals import BackgroundTerminalHandlers
    from app_server.api.command_exec import CommandExecHandlers
    from app_server.api.config import ConfigReadHandlers
    from app_server.api.config_write import ConfigWriteHandlers
    from app_server.api.fs import FsHandlers
    from app_server.api.fuzzy_file_search import FuzzyFileSearchHandlers
    from app_server.api.mcp import McpHandlers
    from app_server.api.model_providers import ModelProviderHandlers
    from app_server.api.plugins import PluginHandlers
    from app_server.api.processes import ProcessHandlers
    from app_server.api.skills import SkillHandlers
    from app_server.api.thread_items import ThreadItemHandlers
    from app_server.api.thread_marks import ThreadMarkHandlers
    from app_server.api.thread_queue import ThreadQueueHandlers
    from app_server.api.thread_search_stream import ThreadSearchStreamHandlers
    from app_server.api.thread_settings import ThreadSettingsHandlers
    from app_server.processes.table import ProcessTable
    from app_server.server import AppServer
    from protocol.wire_model import WireModel

G = TypeVar("G")


class LazyGroup(Generic[G]):
    """A group of handlers (or a table they share) made by `make` when first needed."""

    def __init__(self, make: Callable[[], G]) -> None:
        self._make = make
        self._group: G | None = None

    @property
    def built(self) -> G | None:
        """The group if it was made, else None (nothing of it to close)."""
        return self._group

    def get(self) -> G:
        if self._group is None:
            self._group = self._make()
        return self._group

    def handler(self, pick: Callable[[G], Handler]) -> Handler:
        """The handler `pick` selects of the group, the group made on its first call."""

        async def serve(connection: ClientConnection, params: Any) -> WireModel | Any:
            return await pick(self.get())(connection, params)

        return serve


def make_fs() -> FsHandlers:
    from app_server.api.fs import FsHandlers

    return FsHandlers()


def make_file_search() -> FuzzyFileSearchHandlers:
    from app_server.api.fuzzy_file_search import FuzzyFileSearchHandlers

    return FuzzyFileSearchHandlers()


def make_process_table() -> ProcessTable:
    from app_server.processes.table import ProcessTable

    return ProcessTable()


class _Groups:
    """The lazily made groups of one server (each factory imports its module)."""

    def __init__(self, server: AppServer) -> None:
        self.server = server

    def searches(self, queries: ThreadQueryHandlers) -> ThreadSearchStreamHandlers:
        from app_server.api.thread_search_stream import ThreadSearchStreamHandlers

        return ThreadSearchStreamHandlers(queries)

    def account(self) -> AccountHandlers:
        from app_server.api.account import AccountHandlers

        return AccountHandlers(self.server.config, self.server.threads.rate_limits)

    def config_read(self) -> ConfigReadHandlers:
        from app_server.api.config import ConfigReadHandlers

        return ConfigReadHandlers(self.server.config)

    def config_write(self) -> ConfigWriteHandlers:
        from app_server.api.config_write import ConfigWriteHandlers

        return ConfigWriteHandlers(self.server.config_writer)

    def skills(self) -> SkillHandlers:
        from app_server.api.skills import SkillHandlers

        server = self.server
        return SkillHandlers(server.config, server.config_writer, server.threads.server_cwd)

    def providers(self) -> ModelProviderHandlers:
        from app_server.api.model_providers import ModelProviderHandlers

        return ModelProviderHandlers(self.server.config)

    def marks(self) -> ThreadMarkHandlers:
        from app_server.api.thread_marks import ThreadMarkHandlers

        return ThreadMarkHandlers(self.server.threads)

    def thread_settings(self) -> ThreadSettingsHandlers:
        from app_server.api.thread_settings import ThreadSettingsHandlers

        return ThreadSettingsHandlers(self.server.threads)

    def command_exec(self) -> CommandExecHandlers:
        from app_server.api.command_exec import CommandExecHandlers
        from app_server.sandbox_policy import sandbox_from_mode

        server = self.server
        toml = server.config.toml
        return CommandExecHandlers(
            server.processes.get(),
            server.threads.server_cwd,
            lambda: sandbox_from_mode(toml.sandbox_mode, toml.sandbox_workspace_write),
            lambda: server.threads.bwrap,
        )

    def processes(self) -> ProcessHandlers:
        from app_server.api.processes import ProcessHandlers

        return ProcessHandlers(self.server.processes.get())

    def terminals(self) -> BackgroundTerminalHandlers:
        from app_server.api.background_terminals import BackgroundTerminalHandlers

        return BackgroundTerminalHandlers(self.server.threads)

    def mcp(self) -> McpHandlers:
        from app_server.api.mcp import McpHandlers

        return McpHandlers(self.server.threads, self.server.mcp)

    def items(self) -> ThreadItemHandlers:
        from app_server.api.thread_items import ThreadItemHandlers

        return ThreadItemHandlers(self.server.threads)

    def queue(self) -> ThreadQueueHandlers:
        from app_server.api.thread_queue import ThreadQueueHandlers
        from app_server.threads.queued_turns import QueuedTurns

        server = self.server
        return ThreadQueueHandlers(QueuedTurns(server.threads, server.turns), server.turns)


def _single(make: Callable[[], Handler]) -> Handler:
    """A handler that is the only method of its group: the group made on the first call."""
    return LazyGroup(make).handler(lambda handler: handler)


def _model_list(server: AppServer) -> Handler:
    from app_server.api.models import ModelHandlers

    return ModelHandlers(server.config).list


def _rollout_compress(server: AppServer) -> Handler:
    from app_server.api.maintenance import MaintenanceHandlers

    return MaintenanceHandlers(server.store).rollout_compress


def _hooks_list(server: AppServer) -> Handler:
    from app_server.api.hooks import HookHandlers

    return HookHandlers(server.threads).list


def _collaboration_modes() -> Handler:
    from app_server.api.collaboration_modes import CollaborationModeHandlers

    return CollaborationModeHandlers().list


def _permission_profiles() -> Handler:
    from app_server.api.permission_profiles import PermissionProfileHandlers

    return PermissionProfileHandlers().list


def _experimental_features(server: AppServer) -> Handler:
    from app_server.api.experimental_features import ExperimentalFeatureHandlers

    return ExperimentalFeatureHandlers(server.config).list


def _review_start(server: AppServer) -> Handler:
    from app_server.api.review import ReviewHandlers

    return ReviewHandlers(server.turns).start


def _thread_revert(server: AppServer) -> Handler:
    from app_server.api.thread_revert import ThreadRevertHandler

    return ThreadRevertHandler(server.threads, server.config.data_dir).revert


def _plugins() -> PluginHandlers:
    from app_server.api.plugins import PluginHandlers

    return PluginHandlers()


def handler_table(server: AppServer) -> dict[str, Handler]:
    """Method → handler, for every method this server implements."""
    lifecycle = ThreadLifecycleHandlers(server.threads, StoredThreadOperations(server.threads))
    queries = ThreadQueryHandlers(server.threads)
    turns = TurnHandlers(server.turns)
    made = _Groups(server)
    searches = LazyGroup(lambda: made.searches(queries))
    account = LazyGroup(made.account)
    config_read = LazyGroup(made.config_read)
    config_write = LazyGroup(made.config_write)
    skills = LazyGroup(made.skills)
    plugins = LazyGroup(_plugins)
    providers = LazyGroup(made.providers)
    marks = LazyGroup(made.marks)
    thread_settings = LazyGroup(made.thread_settings)
    command_exec = LazyGroup(made.command_exec)
    processes = LazyGroup(made.processes)
    terminals = LazyGroup(made.terminals)
    mcp = LazyGroup(made.mcp)
    items = LazyGroup(made.items)
    queue = LazyGroup(made.queue)
    fs = server.fs
    file_search = server.file_search
    return {
        "initialize": InitializeHandler(server.config.data_dir),
        "thread/start": lifecycle.start,
        "thread/resume": lifecycle.resume,
        "thread/fork": lifecycle.fork,
        "thread/archive": lifecycle.archive,
        "thread/unarchive": lifecycle.unarchive,
        "thread/name/set": lifecycle.set_name,
        "thread/delete": lifecycle.delete,
        "thread/unsubscribe": lifecycle.unsubscribe,
        "thread/list": queries.list,
        "thread/search": searches.handler(lambda g: g.search),
        "thread/search/stream": searches.handler(lambda g: g.stream),
        "thread/search/cancel": searches.handler(lambda g: g.cancel),
        "thread/search/stream/cancel": searches.handler(lambda g: g.stream_cancel),
        "thread/read": queries.read,
        "thread/turns/list": queries.turns_list,
        "thread/items/list": items.handler(lambda g: g.items_list),
        "thread/items/read": items.handler(lambda g: g.items_read),
        "thread/inject_items": items.handler(lambda g: g.inject_items),
        "thread/queue/add": queue.handler(lambda g: g.add),
        "thread/queue/list": queue.handler(lambda g: g.list),
        "thread/queue/update": queue.handler(lambda g: g.update),
        "thread/queue/delete": queue.handler(lambda g: g.delete),
        "thread/queue/reorder": queue.handler(lambda g: g.reorder),
        "thread/queue/start": queue.handler(lambda g: g.start),
        "thread/loaded/list": queries.loaded_list,
        "turn/start": turns.start,
        "turn/steer": turns.steer,
        "turn/interrupt": turns.interrupt,
        "thread/compact/start": turns.compact,
        "thread/shellCommand": turns.shell_command,
        "review/start": _single(lambda: _review_start(server)),
        "model/list": _single(lambda: _model_list(server)),
        "rollout/compress": _single(lambda: _rollout_compress(server)),
        "account/read": account.handler(lambda g: g.read),
        "account/rateLimits/read": account.handler(lambda g: g.rate_limits_read),
        "account/bedrock/checkGovCloudRequirements": account.handler(lambda g: g.bedrock_gov_cloud),
        "config/read": config_read.handler(lambda g: g.read),
        "configRequirements/read": config_read.handler(lambda g: g.requirements),
        "config/value/write": config_write.handler(lambda g: g.value_write),
        "config/batchWrite": config_write.handler(lambda g: g.batch_write),
        "hooks/list": _single(lambda: _hooks_list(server)),
        "thread/backgroundTerminals/list": terminals.handler(lambda g: g.list),
        "thread/backgroundTerminals/terminate": terminals.handler(lambda g: g.terminate),
        "thread/backgroundTerminals/clean": terminals.handler(lambda g: g.clean),
        "skills/list": skills.handler(lambda g: g.list),
        "skills/config/write": skills.handler(lambda g: g.config_write),
        "plugin/installed": plugins.handler(lambda g: g.installed),
        "plugin/list": plugins.handler(lambda g: g.list),
        "collaborationMode/list": _single(_collaboration_modes),
        "permissionProfile/list": _single(_permission_profiles),
        "experimentalFeature/list": _single(lambda: _experimental_features(server)),
        "modelProvider/list": providers.handler(lambda g: g.list),
        "modelProvider/capabilities/read": providers.handler(lambda g: g.capabilities),
        "thread/readState/update": marks.handler(lambda g: g.read_state_update),
        "thread/goal/set": marks.handler(lambda g: g.goal_set),
        "thread/goal/get": marks.handler(lambda g: g.goal_get),
        "thread/goal/clear": marks.handler(lambda g: g.goal_clear),
        "thread/settings/update": thread_settings.handler(lambda g: g.settings_update),
        "turn/settings/update": thread_settings.handler(lambda g: g.turn_settings_update),
        "thread/metadata/update": thread_settings.handler(lambda g: g.metadata_update),
        "thread/memoryMode/set": thread_settings.handler(lambda g: g.memory_mode_set),
        "thread/revert": _single(lambda: _thread_revert(server)),
        "fs/readFile": fs.handler(lambda g: g.read_file),
        "fs/writeFile": fs.handler(lambda g: g.write_file),
        "fs/createDirectory": fs.handler(lambda g: g.create_directory),
        "fs/getMetadata": fs.handler(lambda g: g.get_metadata),
        "fs/readDirectory": fs.handler(lambda g: g.read_directory),
        "fs/remove": fs.handler(lambda g: g.remove),
        "fs/copy": fs.handler(lambda g: g.copy),
        "fs/watch": fs.handler(lambda g: g.watch),
        "fs/unwatch": fs.handler(lambda g: g.unwatch),
        "command/exec": command_exec.handler(lambda g: g.exec),
        "command/exec/write": command_exec.handler(lambda g: g.write),
        "command/exec/resize": command_exec.handler(lambda g: g.resize),
        "command/exec/terminate": command_exec.handler(lambda g: g.terminate),
        "process/spawn": processes.handler(lambda g: g.spawn),
        "process/writeStdin": processes.handler(lambda g: g.write_stdin),
        "process/resizePty": processes.handler(lambda g: g.resize_pty),
        "process/kill": processes.handler(lambda g: g.kill),
        "fuzzyFileSearch": file_search.handler(lambda g: g.search),
        "fuzzyFileSearch/sessionStart": file_search.handler(lambda g: g.session_start),
        "fuzzyFileSearch/sessionUpdate": file_search.handler(lambda g: g.session_update),
        "fuzzyFileSearch/sessionStop": file_search.handler(lambda g: g.session_stop),
        "mcpServerStatus/list": mcp.handler(lambda g: g.status_list),
        "mcpServer/tool/call": mcp.handler(lambda g: g.tool_call),
        "mcpServer/resource/read": mcp.handler(lambda g: g.resource_read),
        "config/mcpServer/reload": mcp.handler(lambda g: g.reload),
    }
