"""JSON Schema definitions → the class and alias specs of the wire types (`Generator`).

Why its own module: this is the one place that reads JSON Schema (schemars' output for the Rust
types): `$ref`, `allOf`, `oneOf`/`anyOf` unions (tagged or not), enums, integer formats, maps
and inline objects each become a Python annotation, a class or an alias. What it builds is in
`scripts/protocol_gen_specs.py`; rendering it as Python is `scripts/protocol_gen_models.py`.
"""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_camel

from scripts.protocol_gen_specs import (
    ANY_OF_ENFORCED,
    HAND_WRITTEN,
    INT_FORMATS,
    OMITTED_WHEN_NONE,
    AliasSpec,
    ClassSpec,
    FieldSpec,
    article,
    pascal_case,
    snake_case,
)


def is_nullable(schema: Any) -> bool:
    if not isinstance(schema, dict) or not schema:
        return True
    typ = schema.get("type")
    if isinstance(typ, list) and "null" in typ:
        return True
    if typ == "null":
        return True
    for key in ("anyOf", "oneOf"):
        if any(isinstance(arm, dict) and arm.get("type") == "null" for arm in schema.get(key, [])):
            return True
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return is_nullable(schema["allOf"][0])
    return schema.get("enum") is not None and None in schema["enum"]


class Generator:
    """Turns the definitions of one schema bundle into class and alias specs."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.defs = definitions
        self.classes: dict[str, ClassSpec] = {}
        self.aliases: dict[str, AliasSpec] = {}
        self.pending: list[str] = []
        self.seen: set[str] = set()
        self.current_alias_deps: set[str] | None = None

    # -- driving -------------------------------------------------------------------------------
    def require(self, name: str) -> str:
        if name in HAND_WRITTEN:
            return name
        if name not in self.defs:
            raise KeyError(f"unknown definition {name}")
        if name not in self.seen:
            self.seen.add(name)
            self.pending.append(name)
        return name

    def run(self) -> None:
        while self.pending:
            name = self.pending.pop()
            self.emit_definition(name, self.defs[name])

    # -- definitions ---------------------------------------------------------------------------
    def emit_definition(self, name: str, schema: dict[str, Any]) -> None:
        description = schema.get("description")
        arms = schema.get("oneOf") or schema.get("anyOf")
        if arms is not None:
            deps: set[str] = set()
            expr = self.union_expr(arms, name, base=schema, deps=deps)
            self.add_alias(AliasSpec(name, expr, description, deps))
        elif self.is_record(schema):
            self.emit_class(name, schema, description)
        else:
            deps = set()
            expr, _ = self.type_expr(schema, name, deps)
            self.add_alias(AliasSpec(name, expr, description, deps))

    @staticmethod
    def is_record(schema: dict[str, Any]) -> bool:
        """An object with named fields (a class), as opposed to a map (`dict[str, X]`)."""
        if schema.get("properties") is not None:
            return True
        is_map = isinstance(schema.get("additionalProperties"), dict)
        return schema.get("type") == "object" and not is_map

    def add_alias(self, alias: AliasSpec) -> None:
        if alias.name in self.classes or alias.name in self.aliases:
            raise ValueError(f"name clash: {alias.name}")
        self.aliases[alias.name] = alias

    def emit_class(
        self,
        name: str,
        schema: dict[str, Any],
        description: str | None,
        base: dict[str, Any] | None = None,
        union: str | None = None,
    ) -> str:
        if name in self.classes or name in self.aliases:
            raise ValueError(f"name clash: {name}")
        properties: dict[str, Any] = dict(schema.get("properties", {}))
        for wire, prop in (base or {}).get("properties", {}).items():
            properties.setdefault(wire, prop)
        # An object that is also one of several shapes (`ImageUserInput` has either `url` or
        # `fileId`) is one class here, because its tag (`type: "image"`) must map to a single
        # class; each alternative's fields become optional fields of that class.
        for alternative in schema.get("anyOf") or schema.get("oneOf") or []:
            for wire, prop in alternative.get("properties", {}).items():
                properties.setdefault(wire, prop)
        required = set((base or {}).get("required", [])) | set(schema.get("required", []))
        spec = ClassSpec(name, [], description)
        self.classes[name] = spec  # reserve the name before recursing
        additional = schema.get("additionalProperties", (base or {}).get("additionalProperties"))
        if additional is False:
            spec.extra = "forbid"
        elif additional is True:
            spec.extra = "allow"
        used: set[str] = set()
        for wire, prop in properties.items():
            py = snake_case(wire)
            if py in used:
                raise ValueError(f"{name}: two fields map to {py}")
            used.add(py)
            spec.fields.append(self.field_spec(name, wire, py, prop, wire in required))
        if union in ANY_OF_ENFORCED:
            self.add_any_of(spec, schema, ANY_OF_ENFORCED[union])
        return name

    @staticmethod
    def add_any_of(spec: ClassSpec, schema: dict[str, Any], noun: str) -> None:
        """Record the `anyOf` groups of a union member (each alternative's required fields)."""
        groups = [alt.get("required", []) for alt in schema.get("anyOf") or []]
        if not groups or not all(groups):
            return
        spec.any_of = [[snake_case(wire) for wire in group] for group in groups]
        tag = schema.get("properties", {}).get("type", {}).get("enum", [spec.name])[0]
        alternatives = " or ".join(
            " and ".join(f"{article(wire)} `{wire}`" for wire in group) for group in groups
        )
        spec.any_of_message = f"{article(tag)} {tag} {noun} needs {alternatives}"

    def field_spec(self, owner: str, wire: str, py: str, prop: Any, required: bool) -> FieldSpec:
        # An externally tagged variant (`{"granular": {...}}` in `GranularAskForApproval`) names
        # its payload after itself rather than repeating the tag.
        inner = pascal_case(wire)
        ctx = owner + "Payload" if owner.startswith(inner) else owner + inner
        expr, nullable = self.type_expr(prop, ctx, set())
        description = prop.get("description") if isinstance(prop, dict) else None
        alias = None if to_camel(py) == wire else wire
        default: str | None
        has_default = isinstance(prop, dict) and "default" in prop
        enum = prop.get("enum") if isinstance(prop, dict) else None
        omit = False
        if required:
            if enum is not None and len(enum) == 1:
                default = repr(enum[0])
            else:
                default = "None" if nullable else None
        elif has_default:
            default = repr(prop["default"])
            if prop["default"] is None and not nullable:
                expr += " | None"
                omit = True
        elif nullable:
            default = "None"
            omit = (owner, wire) in OMITTED_WHEN_NONE
        else:
            expr += " | None"
            default = "None"
            omit = True
        if alias is not None or omit:
            args = []
            if default is not None:
                args.append(f"default={default}")
            if alias is not None:
                args.append(f"alias={alias!r}")
            if omit:
                args.append("exclude_if=omit_none")
            default = f"Field({', '.join(args)})"
        return FieldSpec(wire, py, expr, default, description)

    # -- type expressions ----------------------------------------------------------------------
    def type_expr(self, schema: Any, ctx: str, deps: set[str]) -> tuple[str, bool]:
        """Python annotation for an inline schema, and whether it admits null."""
        if schema is True or schema == {} or not isinstance(schema, dict):
            return "Any", True
        if "$ref" in schema:
            name = self.require(schema["$ref"].rsplit("/", 1)[-1])
            deps.add(name)
            return name, False
        if "allOf" in schema:
            if len(schema["allOf"]) != 1:
                raise ValueError(f"{ctx}: allOf with several members")
            return self.type_expr(schema["allOf"][0], ctx, deps)
        arms = schema.get("oneOf") or schema.get("anyOf")
        if arms is not None:
            expr = self.union_expr(arms, ctx, base=schema, deps=deps)
            return expr, is_nullable(schema)
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            expr = "Literal[" + ", ".join(repr(v) for v in values) + "]"
            nullable = None in schema["enum"] or self.type_admits_null(schema)
            return (expr + " | None" if nullable else expr), nullable
        typ = schema.get("type")
        types = typ if isinstance(typ, list) else [typ]
        nullable = "null" in types
        exprs = [self.single_type(t, schema, ctx, deps) for t in types if t != "null"]
        if not exprs:
            return "None", True
        expr = " | ".join(exprs)
        if nullable:
            expr += " | None"
        return expr, nullable

    @staticmethod
    def type_admits_null(schema: dict[str, Any]) -> bool:
        typ = schema.get("type")
        return isinstance(typ, list) and "null" in typ

    def single_type(self, typ: str | None, schema: dict[str, Any], ctx: str, deps: set[str]) -> str:
        if typ == "string":
            if "minLength" in schema:
                return f"Annotated[str, Field(min_length={schema['minLength']})]"
            return "str"
        if typ == "boolean":
            return "bool"
        if typ == "number":
            return "float"
        if typ == "integer":
            base = INT_FORMATS.get(schema.get("format", ""), "int")
            minimum = schema.get("minimum")
            # Unsigned formats already imply `ge=0`; any other minimum is spelled out.
            if minimum is not None and (minimum != 0 or base in ("int", "Int32", "Int64")):
                return f"Annotated[{base}, Field(ge={int(minimum)})]"
            return base
        if typ == "array":
            item, _ = self.type_expr(schema.get("items", True), ctx + "Item", deps)
            return f"list[{item}]"
        if typ == "object":
            if schema.get("properties"):
                name = schema.get("title") or ctx
                self.emit_class(name, schema, schema.get("description"))
                deps.add(name)
                return name
            additional = schema.get("additionalProperties", True)
            value, _ = self.type_expr(additional, ctx + "Value", deps)
            return f"dict[str, {value}]"
        if typ is None:
            return "Any"
        raise ValueError(f"{ctx}: unsupported type {typ}")

    def union_expr(self, arms: list[Any], ctx: str, base: dict[str, Any], deps: set[str]) -> str:
        """A union of `arms`; object arms inherit `base`'s properties (flat on the wire)."""
        literals: list[Any] = []
        members: list[str] = []
        nullable = False
        object_arms: list[tuple[str, dict[str, Any]]] = []
        base_props: dict[str, Any] = {k: base[k] for k in ("properties", "required") if k in base}
        for index, arm in enumerate(arms):
            if not isinstance(arm, dict):
                members.append("Any")
                continue
            if arm.get("type") == "null":
                nullable = True
                continue
            if "enum" in arm and arm.get("type") == "string":
                literals.extend(arm["enum"])
                continue
            if arm.get("type") == "object" and (arm.get("properties") or base_props):
                name = arm.get("title") or f"{ctx}{self.tag_name(arm) or index}"
                self.emit_class(name, arm, arm.get("description"), base=base_props, union=ctx)
                deps.add(name)
                object_arms.append((name, self.merged(arm, base_props)))
                members.append(name)
                continue
            expr, arm_nullable = self.type_expr(arm, f"{ctx}{index}", deps)
            nullable = nullable or arm_nullable
            if "$ref" in arm:
                target = self.defs[arm["$ref"].rsplit("/", 1)[-1]]
                if target.get("type") == "object" and "oneOf" not in target:
                    object_arms.append((expr, target))
            members.append(expr)
        parts = []
        if literals:
            parts.append("Literal[" + ", ".join(repr(v) for v in literals) + "]")
        parts.extend(members)
        expr = " | ".join(parts)
        all_objects = len(object_arms) == len(members)
        discriminator = self.discriminator(object_arms) if all_objects else None
        if discriminator is not None and not literals and len(members) > 1:
            expr = f"Annotated[{expr}, Field(discriminator={snake_case(discriminator)!r})]"
        if nullable:
            expr += " | None"
        return expr

    @staticmethod
    def merged(arm: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        props = dict(base.get("properties", {}))
        props.update(arm.get("properties", {}))
        required = [*base.get("required", []), *arm.get("required", [])]
        return {"properties": props, "required": required}

    @staticmethod
    def tag_name(arm: dict[str, Any]) -> str | None:
        for prop in arm.get("properties", {}).values():
            if isinstance(prop, dict) and len(prop.get("enum", [])) == 1:
                return pascal_case(str(prop["enum"][0]))
        required = arm.get("required", [])
        return pascal_case(required[0]) if len(required) == 1 else None

    @staticmethod
    def discriminator(arms: list[tuple[str, dict[str, Any]]]) -> str | None:
        if len(arms) < 2:
            return None
        candidates: set[str] | None = None
        for _, schema in arms:
            tags = {
                name
                for name, prop in schema.get("properties", {}).items()
                if isinstance(prop, dict)
                and len(prop.get("enum", [])) == 1
                and name in schema.get("required", [])
            }
            candidates = tags if candidates is None else candidates & tags
        if not candidates:
            return None
        return "type" if "type" in candidates else sorted(candidates)[0]
