"""Scenarios for what IDEs call besides threads (issue 20): `fs/*`, `command/exec*`, `process/*`
and `fuzzyFileSearch` (one-shot and session). Everything happens in the peer's workspace (`$cwd`,
a temp dir of the run): files are made through `fs/writeFile` so both peers see the same tree.
Commands run unsandboxed (`dangerFullAccess`) unless a step is about the sandbox."""

from __future__ import annotations

from scripts.codex_compare.steps import Await, Call, Scenario, WaitFor

FULL = {"type": "dangerFullAccess"}
HELLO = "aGVsbG8K"  # "hello\n"

FS = Scenario(
    "fs methods",
    (
        Call("fs/createDirectory", {"path": "$cwd/d"}),
        Call("fs/createDirectory", {"path": "$cwd/d"}),
        Call("fs/createDirectory", {"path": "$cwd/d/e/f", "recursive": False}),
        Call("fs/createDirectory", {"path": "$cwd/d/e/f", "recursive": True}),
        Call("fs/createDirectory", {"path": "rel/dir"}),
        Call("fs/writeFile", {"path": "$cwd/d/a.txt", "dataBase64": HELLO}),
        Call("fs/writeFile", {"path": "$cwd/d/a.txt", "dataBase64": "!!"}),
        Call("fs/writeFile", {"path": "$cwd/nowhere/a.txt", "dataBase64": HELLO}),
        Call("fs/writeFile", {"path": "$cwd/d", "dataBase64": HELLO}),
        Call("fs/readFile", {"path": "$cwd/d/a.txt"}),
        Call("fs/readFile", {"path": "$cwd/d/missing.txt"}),
        Call("fs/readFile", {"path": "$cwd/d"}),
        Call("fs/readFile", {"path": "d/a.txt"}),
        Call("fs/getMetadata", {"path": "$cwd/d/a.txt"}),
        Call("fs/getMetadata", {"path": "$cwd/d"}),
        Call("fs/getMetadata", {"path": "$cwd/d/missing.txt"}),
        Call("fs/readDirectory", {"path": "$cwd/d"}),
        Call("fs/readDirectory", {"path": "$cwd/d/a.txt"}),
        Call("fs/readDirectory", {"path": "$cwd/d/missing"}),
        Call("fs/copy", {"sourcePath": "$cwd/d/a.txt", "destinationPath": "$cwd/d/b.txt"}),
        Call("fs/copy", {"sourcePath": "$cwd/d", "destinationPath": "$cwd/d2"}),
        Call("fs/copy", {"sourcePath": "$cwd/d", "destinationPath": "$cwd/d2", "recursive": True}),
        Call("fs/copy", {"sourcePath": "$cwd/missing", "destinationPath": "$cwd/m2"}),
        Call("fs/readDirectory", {"path": "$cwd/d2"}),
        Call("fs/remove", {"path": "$cwd/d/b.txt"}),
        Call("fs/remove", {"path": "$cwd/d/b.txt"}),
        Call("fs/remove", {"path": "$cwd/d/b.txt", "force": True}),
        Call("fs/remove", {"path": "$cwd/d2", "recursive": False}),
        Call("fs/remove", {"path": "$cwd/d2"}),
        Call("fs/getMetadata", {"path": "$cwd/d2"}),
        Call("fs/watch", {"watchId": "w1", "path": "$cwd/d"}),
        Call("fs/watch", {"watchId": "w1", "path": "$cwd/d"}),
        Call("fs/watch", {"watchId": "w2", "path": "$cwd/missing"}),
        Call("fs/writeFile", {"path": "$cwd/d/c.txt", "dataBase64": HELLO}),
        WaitFor("fs/changed"),
        Call("fs/unwatch", {"watchId": "w1"}),
        Call("fs/unwatch", {"watchId": "w1"}),
    ),
)

COMMAND_EXEC = Scenario(
    "command/exec",
    (
        Call("command/exec", {"command": ["sh", "-c", "echo out; echo err >&2; exit 3"]}),
        Call(
            "command/exec",
            {"command": ["sh", "-c", "echo out; echo err >&2; exit 3"], "sandboxPolicy": FULL},
        ),
        Call(
            "command/exec",
            {
                "command": ["sh", "-c", "touch $HOME/x; echo $?"],
                "sandboxPolicy": {"type": "readOnly"},
            },
        ),
        Call(
            "command/exec",
            {"command": ["sh", "-c", "pwd; echo $FOO"], "cwd": "$cwd", "env": {"FOO": "bar"}},
        ),
        Call(
            "command/exec",
            {"command": ["sh", "-c", "echo a; sleep 5"], "timeoutMs": 300, "sandboxPolicy": FULL},
        ),
        Call(
            "command/exec",
            {
                "command": ["sh", "-c", "yes | head -c 1000"],
                "outputBytesCap": 5,
                "sandboxPolicy": FULL,
            },
        ),
        Call(
            "command/exec",
            {
                "command": ["sh", "-c", "echo 0123456789; echo abcdefghij >&2"],
                "outputBytesCap": 5,
                "processId": "capped",
                "streamStdoutStderr": True,
                "sandboxPolicy": FULL,
            },
        ),
        Call("command/exec", {"command": []}),
        Call("command/exec", {"command": ["true"], "tty": True}),
        Call("command/exec", {"command": ["true"], "timeoutMs": 5, "disableTimeout": True}),
        Call("command/exec", {"command": ["true"], "size": {"rows": 5, "cols": 5}}),
        Call("command/exec", {"command": ["true"], "timeoutMs": -1}),
        Call("command/exec", {"command": ["true"], "cwd": "rel"}),
        Call("command/exec", {"command": ["/no/such/binary"], "sandboxPolicy": FULL}),
        Call(
            "command/exec",
            {
                "command": ["sh", "-c", "echo hi; cat; echo done >&2"],
                "processId": "p1",
                "streamStdin": True,
                "streamStdoutStderr": True,
                "sandboxPolicy": FULL,
            },
            save="p1",
            wait=False,
        ),
        WaitFor("command/exec/outputDelta"),
        Call("command/exec/write", {"processId": "p1", "deltaBase64": HELLO}),
        Call("command/exec/write", {"processId": "p1", "closeStdin": True}),
        Await("p1"),
        Call("command/exec/write", {"processId": "p1", "closeStdin": True}),
        Call("command/exec/write", {"processId": "zz", "deltaBase64": "!!"}),
        Call(
            "command/exec",
            {"command": ["sleep", "30"], "processId": "p2", "sandboxPolicy": FULL},
            save="p2",
            wait=False,
        ),
        Call("command/exec/write", {"processId": "p2", "deltaBase64": HELLO}),
        Call("command/exec/resize", {"processId": "p2", "size": {"rows": 5, "cols": 5}}),
        Call("command/exec/terminate", {"processId": "p2"}),
        Await("p2"),
        Call("command/exec/terminate", {"processId": "p2"}),
        Call(
            "command/exec",
            {
                "command": ["sh", "-c", "stty size; read x; stty size; echo got $x"],
                "processId": "t1",
                "tty": True,
                "size": {"rows": 10, "cols": 40},
                "sandboxPolicy": FULL,
            },
            save="t1",
            wait=False,
        ),
        WaitFor("command/exec/outputDelta"),
        Call("command/exec/resize", {"processId": "t1", "size": {"rows": 20, "cols": 60}}),
        Call("command/exec/write", {"processId": "t1", "deltaBase64": HELLO}),
        Await("t1"),
    ),
)

PROCESS = Scenario(
    "process/spawn and friends",
    (
        Call(
            "process/spawn",
            {
                "command": ["sh", "-c", "echo out; echo err >&2; exit 2"],
                "cwd": "$cwd",
                "processHandle": "h1",
            },
        ),
        WaitFor("process/exited"),
        Call(
            "process/spawn",
            {
                "command": ["sh", "-c", "cat; echo done"],
                "cwd": "$cwd",
                "processHandle": "h2",
                "streamStdin": True,
                "streamStdoutStderr": True,
            },
        ),
        Call("process/writeStdin", {"processHandle": "h2", "deltaBase64": HELLO}),
        Call("process/writeStdin", {"processHandle": "h2", "closeStdin": True}),
        WaitFor("process/exited"),
        Call("process/writeStdin", {"processHandle": "h2", "closeStdin": True}),
        Call(
            "process/spawn",
            {"command": ["sleep", "30"], "cwd": "$cwd", "processHandle": "h3"},
        ),
        Call(
            "process/spawn",
            {"command": ["sleep", "30"], "cwd": "$cwd", "processHandle": "h3"},
        ),
        Call("process/resizePty", {"processHandle": "h3", "size": {"rows": 5, "cols": 5}}),
        Call("process/writeStdin", {"processHandle": "h3", "deltaBase64": HELLO}),
        Call("process/kill", {"processHandle": "h3"}),
        WaitFor("process/exited"),
        Call("process/kill", {"processHandle": "h3"}),
        Call(
            "process/spawn",
            {
                "command": ["sh", "-c", "yes | head -c 1000"],
                "cwd": "$cwd",
                "processHandle": "h4",
                "outputBytesCap": 5,
            },
        ),
        WaitFor("process/exited"),
        Call(
            "process/spawn",
            {"command": ["sleep", "5"], "cwd": "$cwd", "processHandle": "h5", "timeoutMs": 200},
        ),
        WaitFor("process/exited"),
        Call(
            "process/spawn",
            {
                "command": ["stty", "size"],
                "cwd": "$cwd",
                "processHandle": "h6",
                "tty": True,
                "size": {"rows": 7, "cols": 33},
            },
        ),
        WaitFor("process/exited"),
        Call("process/spawn", {"command": ["true"], "cwd": "rel", "processHandle": "h7"}),
        Call("process/spawn", {"command": [], "cwd": "$cwd", "processHandle": "h8"}),
        Call(
            "process/spawn", {"command": ["/no/such/binary"], "cwd": "$cwd", "processHandle": "h9"}
        ),
    ),
)

TREE = (
    ("src/main.py", HELLO),
    ("src/app/main_test.py", HELLO),
    ("src/app/a_m_a_i_n.txt", HELLO),
    ("src/myApiName.ts", HELLO),
    ("docs/MAIN.md", HELLO),
    ("README.md", HELLO),
    (".gitignore", "aWdub3JlZC8K"),  # "ignored/\n"
    ("ignored/main.py", HELLO),
)

FILE_SEARCH = Scenario(
    "fuzzyFileSearch one-shot and session",
    (
        Call("fs/createDirectory", {"path": "$cwd/src/app", "recursive": True}),
        Call("fs/createDirectory", {"path": "$cwd/docs"}),
        Call("fs/createDirectory", {"path": "$cwd/ignored"}),
        *(
            Call("fs/writeFile", {"path": f"$cwd/{path}", "dataBase64": data})
            for path, data in TREE
        ),
        Call("fuzzyFileSearch", {"query": "main", "roots": ["$cwd"]}),
        Call("fuzzyFileSearch", {"query": "a", "roots": ["$cwd"]}),
        Call("fuzzyFileSearch", {"query": "app", "roots": ["$cwd"]}),
        Call("fuzzyFileSearch", {"query": "rdm", "roots": ["$cwd"]}),
        Call("fuzzyFileSearch", {"query": "MAIN", "roots": ["$cwd"], "cancellationToken": "c1"}),
        Call("fuzzyFileSearch", {"query": "zzzz", "roots": ["$cwd"]}),
        Call("fuzzyFileSearch", {"query": "", "roots": ["$cwd"]}),
        Call("fuzzyFileSearch", {"query": "main", "roots": []}),
        Call("fuzzyFileSearch", {"query": "main", "roots": ["$cwd/missing"]}),
        Call("fuzzyFileSearch/sessionStart", {"sessionId": "s1", "roots": ["$cwd"]}),
        Call("fuzzyFileSearch/sessionStart", {"sessionId": "s1", "roots": ["$cwd"]}),
        Call("fuzzyFileSearch/sessionUpdate", {"sessionId": "s1", "query": "main"}),
        WaitFor("fuzzyFileSearch/sessionCompleted"),
        Call("fuzzyFileSearch/sessionUpdate", {"sessionId": "s1", "query": "ma"}),
        WaitFor("fuzzyFileSearch/sessionCompleted"),
        Call("fuzzyFileSearch/sessionUpdate", {"sessionId": "s1", "query": ""}),
        Call("fuzzyFileSearch/sessionUpdate", {"sessionId": "nope", "query": "main"}),
        Call("fuzzyFileSearch/sessionStop", {"sessionId": "s1"}),
        Call("fuzzyFileSearch/sessionStop", {"sessionId": "s1"}),
        Call("fuzzyFileSearch/sessionUpdate", {"sessionId": "s1", "query": "main"}),
    ),
)
