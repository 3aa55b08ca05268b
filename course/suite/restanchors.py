"""The anchors a Sphinx build gives a reST page, worked out from the page's source without Sphinx.

The ids follow docutils and a current Sphinx:

- a section title: docutils' id of its text as shown (``select_related()`` → ``select-related``),
  unless an earlier title, label or link target took that id, or the title skips a level;
  on Django's pages every id a section holds also comes as ``s-<id>``;
- a label ``.. _my_label:`` (and an inline target ``_`my label```): ``my-label``; a footnote
  ``.. [#note]`` or a citation ``.. [Ref]``: ``note``, ``ref``;
- a Python object (``.. function::``, ``.. class::``, ``.. method::``, ``.. attribute::`` …):
  its full dotted name, from ``.. module::`` / ``.. currentmodule::``, ``:module:`` and the
  enclosing ``.. class::`` (``django.db.models.query.QuerySet.select_related``);
  ``.. module:: X`` also gives ``module-X``; a JavaScript object: its dotted name;
- a standard-domain target type a project adds (Django's ``.. setting:: INTERNAL_IPS``):
  ``std-setting-INTERNAL_IPS``;
- an object type a project adds (``.. django-admin:: migrate``): ``django-admin-migrate``;
  command-line options (``.. option::``, Django's ``.. django-admin-option::``):
  ``cmdoption-<program>-<option>``; glossary terms: ``term-<term>``.

Literal blocks, code blocks and comments are skipped. Objects documented from code
(``.. autoclass::`` …) give their own id, and their members are unknown offline: the page
lists their names in ``autodoc``. Compared with full Sphinx 9 builds of Django 5.2's and
Celery 5.7's docs, no id is given that the build lacks; the build's ids missing here are
numbered ones (``id3``, ``index-2``), ids inside HTML samples and the ``console`` tabs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

PYTHON_OBJECTS = frozenset({
    "function", "class", "method", "attribute", "data", "exception", "decorator",
    "decoratormethod", "classmethod", "staticmethod", "property",
})
CLASS_LIKE = frozenset({"class", "exception"})
AUTODOC = frozenset({
    "automodule", "autoclass", "autoexception", "autofunction", "automethod",
    "autoattribute", "autodata", "autodecorator", "autoproperty",
})
OPTIONS = frozenset({"option", "cmdoption"})
# Directives whose content is not reST: nothing inside them makes an anchor.
LITERAL = frozenset({
    "code-block", "code", "sourcecode", "console", "literalinclude", "parsed-literal", "raw",
    "math", "highlight", "graphviz", "csv-table", "toctree", "index", "productionlist",
    "doctest", "testcode", "testoutput", "ipython", "click",
})

DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:.-]+)::(?:\s+(.*?))?\s*$")
LABEL = re.compile(r"^(\s*)\.\.\s+_(`[^`]+`|[^:`][^:]*?):\s*$")
EXTERNAL = re.compile(r"^(\s*)\.\.\s+_(`[^`]+`|[^:`][^:]*?):\s+\S")
NOTE = re.compile(r"^\s*\.\.\s+\[#?([^\]]*)\]")
BULLET = re.compile(r"^(\s*)([*+-]|\d+\.|#\.|\(?[a-z\d]\))(\s+)(?=\.\.\s)")
EXPLICIT = re.compile(r"^(\s*)\.\.(?:\s|$)")
OPTION_LINE = re.compile(r"^\s*:([\w-]+):(?:\s+(.*?))?\s*$")
UNDERLINE = re.compile(r"^([!-/:-@\[-`{-~])\1+\s*$")
EMBEDDED_TARGET = re.compile(r"`([^`<]+?)\s*<[^>`]+>`_(?!_)")
INLINE_TARGET = re.compile(r"(?<![\w`])_`([^`]+)`")
PY_SIGNATURE = re.compile(r"^\s*([\w.]*\.)?(\w+)\s*(?:\[.*?\])?\s*(?:\(.*\)(?:\s*->.*)?)?\s*$")
OPTION_NAME = re.compile(r"((?:/|--|-|\+)?[^\s=\[]+)")
ROLE = re.compile(r":[\w.+-]+(?::[\w.+-]+)?:`((?:[^`\\]|\\.)+)`")
LITERAL_TEXT = re.compile(r"``(.+?)``")
NAMED_REFERENCE = re.compile(r"`([^`<]*?)\s*(?:<[^>]*>)?`__?")
SIMPLE_REFERENCE = re.compile(r"\b(\w+)__?(?!\w)")


@dataclass(frozen=True)
class Dialect:
    """What one project's Sphinx set-up adds to the standard directives."""

    crossrefs: frozenset[str] = frozenset()  # std target types: `.. setting:: X`
    objects: frozenset[str] = frozenset({"envvar"})  # generic object types: `.. envvar:: X`
    programs: frozenset[str] = frozenset()  # object types that name the current program
    option_directives: frozenset[str] = OPTIONS  # command-line option directives
    section_prefix: str = ""  # an extra id per section ("s-" on Django's pages)
    link_roles: tuple[tuple[str, str], ...] = ()  # roles that show an address: (role, template)


DJANGO = Dialect(
    crossrefs=frozenset({"setting", "templatetag", "templatefilter", "fieldlookup"}),
    objects=frozenset({"envvar", "django-admin"}),
    programs=frozenset({"django-admin"}),
    option_directives=OPTIONS | {"django-admin-option"},
    section_prefix="s-",
)
CELERY = Dialect(crossrefs=frozenset({"setting", "signal", "event", "control", "state"}),
                 link_roles=(("pypi", "https://pypi.org/project/%s/"),))
PLAIN = Dialect()


@dataclass
class Page:
    """The anchors of one page, and the Python names whose members come from code."""

    anchors: set[str] = field(default_factory=set)
    autodoc: set[str] = field(default_factory=set)

    def documents_from_code(self, anchor: str) -> bool:
        """Whether ``anchor`` may be a member of an object documented from code."""
        return any(anchor.startswith(name + ".") for name in self.autodoc)


# --- ids -------------------------------------------------------------------------------------

def docutils_id(text: str) -> str:
    """docutils' id for a name: lowercase ASCII, runs of other characters become one hyphen."""
    text = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9]+|-+$", "", text)


def sphinx_id(text: str) -> str:
    """Sphinx's id for an object: like docutils', but case, dots and underscores are kept."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(text.split()))
    return re.sub(r"^[-0-9._]+|-+$", "", text)


def label_id(label: str) -> str:
    """The id of ``.. _label:`` (a quoted label may hold colons)."""
    return docutils_id(label.strip("`").replace("\\", ""))


def shown_text(title: str, link_roles: tuple[tuple[str, str], ...] = ()) -> str:
    """A title's text as a reader sees it: inline markup replaced by what it shows (a link
    role of ``link_roles`` with no caption shows its address)."""
    addresses = dict(link_roles)

    def role_text(match: re.Match[str]) -> str:
        inner = match.group(1).replace("\\", "")
        role = match.group(0).split(":")[1]
        if role in addresses and "<" not in inner:
            return addresses[role] % inner
        explicit = re.match(r"(.*?)\s*<[^>]*>$", inner, re.S)
        if explicit and explicit.group(1):
            return explicit.group(1)
        inner = inner.lstrip("!")
        return inner.lstrip("~").rsplit(".", 1)[-1] if inner.startswith("~") else inner

    text = ROLE.sub(role_text, title)
    text = LITERAL_TEXT.sub(lambda m: m.group(1), text)
    text = NAMED_REFERENCE.sub(lambda m: m.group(1), text)
    text = SIMPLE_REFERENCE.sub(lambda m: m.group(1), text)
    text = re.sub(r"(\*\*|\*)(\S.*?)\1", r"\2", text)
    return text.replace("\\", "")


# --- the walk over a page --------------------------------------------------------------------

@dataclass
class _Block:
    """An open directive (or skipped block) and what it changed, undone when it ends."""

    indent: int
    skip: bool = False
    glossary: bool = False
    terms_indent: int | None = None  # a glossary's terms start at its first content line
    pushed_class: bool = False


@dataclass
class _State:
    dialect: Dialect
    page: Page
    read: Callable[[str], str | None]
    module: str = ""
    js_module: str = ""
    classes: list[str] = field(default_factory=list)
    program: str = ""
    waiting: list[str] = field(default_factory=list)  # targets a following section takes in
    used: set[str] = field(default_factory=set)
    styles: list[str] = field(default_factory=list)  # title styles in order of first use
    level: int = 0  # the current section's depth
    section_start: bool = False  # nothing since the last title (Sphinx moves a module there)  # ids given out in order (titles need a free one)
    included: set[str] = field(default_factory=set)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _head(lines: list[str], start: int, indent: int) -> tuple[list[str], dict[str, str], int]:
    """A directive's further argument lines and its options; returns where its body starts."""
    arguments: list[str] = []
    options: dict[str, str] = {}
    index = start
    while index < len(lines) and lines[index].strip() and _indent(lines[index]) > indent:
        option = OPTION_LINE.match(lines[index])
        if option:
            options[option.group(1)] = option.group(2) or ""
        elif not options:
            arguments.append(lines[index].strip())
        index += 1
    return arguments, options, index


def _unindexed(options: dict[str, str]) -> bool:
    return "noindex" in options or "no-index" in options


def _python_ids(state: _State, kind: str, signature: str, options: dict[str, str],
                block: _Block) -> None:
    """Ids of a Python object directive; a class opens a class context for its body."""
    match = PY_SIGNATURE.match(signature)
    if not match:
        return
    prefix, name = match.group(1) or "", match.group(2)
    module = options.get("module", state.module)
    current = state.classes[-1] if state.classes else ""
    if current and prefix and (prefix == current + "." or prefix.startswith(current + ".")):
        fullname = prefix + name
    elif current:
        fullname = f"{current}.{prefix}{name}"
    else:
        fullname = prefix + name
    if not _unindexed(options):
        full = f"{module}.{fullname}" if module else fullname
        state.page.anchors.add(sphinx_id(full))
    # Sphinx: a class's body is inside the class; any other object named with a prefix
    # (``.. attribute:: ModelAdmin.show_facets``) puts its body inside that prefix.
    context = fullname if kind in CLASS_LIKE else prefix.strip(".")
    if context and not block.pushed_class:
        state.classes.append(context)
        block.pushed_class = True


def _javascript_ids(state: _State, kind: str, signature: str, options: dict[str, str]) -> None:
    """JavaScript objects: ``.. js:function:: djdt.close()`` → ``djdt.close``."""
    name = signature.split("(")[0].strip()
    if kind == "module":
        state.js_module = "" if name in ("", "None") else name
    elif name and not _unindexed(options):
        module = state.js_module
        state.page.anchors.add(sphinx_id(f"{module}.{name}" if module else name))


def _autodoc_ids(state: _State, kind: str, name: str, options: dict[str, str]) -> None:
    name = name.split("(")[0].strip()
    if kind == "automodule":
        state.page.anchors.add(f"module-{name}")
        state.page.autodoc.add(name)
        return
    module = options.get("module", state.module)
    current = state.classes[-1] if state.classes else ""
    if module and not name.startswith(module + "."):
        name = f"{module}.{current + '.' if current else ''}{name}"
    state.page.anchors.add(name)
    state.page.autodoc.add(name)


def _option_ids(state: _State, signature: str) -> None:
    for each in signature.split(", "):
        match = OPTION_NAME.match(each.strip())
        if not match:
            continue
        name = match.group(1)
        prefixes = ["cmdoption", *([state.program] if state.program else [])]
        if not name.startswith(("-", "/")):
            prefixes.append("arg")
        prefix = "-".join(prefixes)
        if sphinx_id(f"{prefix}-{name}") != prefix:  # "--" alone gets a numbered id
            state.page.anchors.add(sphinx_id(f"{prefix}-{name}"))


def _directive(state: _State, kind: str, arguments: list[str], options: dict[str, str],
               block: _Block) -> None:
    """What one directive adds to the page and to the context of what follows."""
    kind = kind.removeprefix("py:").removeprefix("std:")
    first = arguments[0] if arguments else ""
    if kind in ("module", "currentmodule"):
        state.module = "" if first in ("", "None") else first
        if kind == "module" and not _unindexed(options):
            state.page.anchors.add(f"module-{first}")
            state.waiting.append(f"module-{first}")
            if state.section_start and state.dialect.section_prefix:
                state.page.anchors.add(f"{state.dialect.section_prefix}module-{first}")
    elif kind in PYTHON_OBJECTS:
        for signature in arguments:
            _python_ids(state, kind, signature, options, block)
    elif kind.startswith("js:"):
        _javascript_ids(state, kind.removeprefix("js:"), first, options)
    elif kind in AUTODOC:
        _autodoc_ids(state, kind, first, options)
    elif kind in state.dialect.crossrefs:
        if not _unindexed(options):
            anchor = sphinx_id(f"std:{kind}-{' '.join(first.split())}")
            state.page.anchors.add(anchor)
            state.waiting.append(anchor)
    elif kind in state.dialect.objects:
        name = first.split(" ")[0] if kind in state.dialect.programs else first
        if not _unindexed(options):
            state.page.anchors.add(sphinx_id(f"{kind}-{name}"))
        if kind in state.dialect.programs:
            state.program = name
    elif kind == "program":
        state.program = "" if first == "None" else re.sub(r"\s+", "-", first)
    elif kind in state.dialect.option_directives:
        for signature in arguments:
            _option_ids(state, signature)
    elif kind == "contents":
        state.page.anchors.add(docutils_id(first or "contents"))
    elif kind == "glossary":
        block.glossary = True
    elif kind in LITERAL:
        block.skip = True


def _close(state: _State, block: _Block) -> None:
    if block.pushed_class:
        state.classes.pop()


def _title_at(lines: list[str], index: int) -> tuple[str, int] | None:
    """The section title starting at ``index`` (text, lines it spans: 3 when overlined)."""
    line = lines[index]
    before = lines[index - 1] if index else ""
    if before.strip():
        return None
    if UNDERLINE.match(line) and index + 2 < len(lines):  # over- and underlined
        text, under = lines[index + 1], lines[index + 2]
        if text.strip() and UNDERLINE.match(under) and under.strip()[0] == line.strip()[0]:
            return text.strip(), 3
        return None
    if index + 1 < len(lines) and not line.startswith((" ", "\t")) and line.strip():
        under = lines[index + 1]
        if UNDERLINE.match(under) and len(under.strip()) >= min(len(line.strip()), 4) \
                and not EXPLICIT.match(line):
            return line.strip(), 2
    return None


def _take_link_names(state: _State, text: str) -> None:
    """```Name <https://…>`_`` defines a target named Name: its id is taken, shown nowhere."""
    for name in EMBEDDED_TARGET.findall(text):
        state.used.add(docutils_id(name))


def _title_fits(state: _State, style: str) -> bool:
    """docutils' rule: a new title style goes one level deeper than the deepest so far, and
    a known one at most one level below the current section (else no section at all)."""
    if style not in state.styles:
        if len(state.styles) != state.level:
            return False
        state.styles.append(style)
        state.level = len(state.styles)
        return True
    level = state.styles.index(style) + 1
    if level > state.level + 1:
        return False
    state.level = level
    return True


def _add_title(state: _State, text: str, style: str) -> None:
    if not _title_fits(state, style):
        return
    _take_link_names(state, text)
    anchor = docutils_id(shown_text(text, state.dialect.link_roles))
    if anchor and anchor not in state.used:
        state.used.add(anchor)
        state.page.anchors.add(anchor)
        state.waiting.append(anchor)
    if state.dialect.section_prefix:  # every id the section holds, its targets' too
        state.page.anchors.update(state.dialect.section_prefix + a for a in state.waiting)
    state.waiting.clear()


def _include(state: _State, name: str, here: str) -> None:
    """Read an included file into the page, with the same context."""
    folder = here.rsplit("/", 1)[0] if "/" in here else ""
    path = name.lstrip("/") if name.startswith("/") else f"{folder}/{name}".lstrip("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    path = "/".join(parts)
    text = state.read(path)
    if text is not None and path not in state.included:
        state.included.add(path)
        _walk(state, text.splitlines(), path)


def _walk(state: _State, lines: list[str], here: str) -> None:
    _Walk(state, lines, here).run()


class _Walk:
    """One pass over a page's lines, keeping the open directives on a stack by indent."""

    def __init__(self, state: _State, lines: list[str], here: str) -> None:
        self.state, self.lines, self.here = state, lines, here
        self.stack: list[_Block] = []
        self.literal_after: int | None = None  # a line ended with "::": what is deeper is code
        self.index = 0

    def run(self) -> None:
        while self.index < len(self.lines):
            raw = self.lines[self.index]
            if raw.strip():
                while self.stack and _indent(raw) <= self.stack[-1].indent:
                    _close(self.state, self.stack.pop())
                line = BULLET.sub(lambda m: " " * len(m.group(0)), raw)  # "* .. attribute::"
                self.index += self.step(line) - 1
            self.index += 1
        while self.stack:
            _close(self.state, self.stack.pop())

    def step(self, line: str) -> int:
        """Take in the line at ``index``; returns how many lines it used."""
        indent = _indent(line)
        if self.literal_after is not None:
            deeper, self.literal_after = indent > self.literal_after, None
            if deeper:
                self.stack.append(_Block(indent - 1, skip=True))
                return 1
        top = self.stack[-1] if self.stack else None
        if top and top.skip:
            return 1
        if top and top.glossary and not line.lstrip().startswith(".."):
            _glossary_line(self.state, top, line)
            return 1
        title = _title_at(self.lines, self.index) if not self.stack else None
        if title:
            style = self.lines[self.index + title[1] - 1].strip()[0] * (title[1] - 1)
            _add_title(self.state, title[0], style)
            self.state.section_start = True
            return title[1]
        if EXPLICIT.match(line):
            return self.explicit(line, indent)
        self.paragraph(line, indent)
        return 1

    def explicit(self, line: str, indent: int) -> int:
        """A line of explicit markup: a label, link target, note, directive or comment."""
        state = self.state
        label, external = LABEL.match(line), EXTERNAL.match(line)
        if label and _continues(self.lines, self.index):  # its address is on the next line
            label, external = None, label
        directive = DIRECTIVE.match(line)
        if not (label or directive and _is_target(state, directive.group(2))):
            state.waiting.clear()  # something between: targets before it stay where they are
        if label:
            state.used.add(label_id(label.group(2)))
            state.page.anchors.add(label_id(label.group(2)))
            state.waiting.append(label_id(label.group(2)))
        elif external:  # a link target elsewhere: its id shows nowhere, yet is taken
            state.used.add(label_id(external.group(2)))
            self.stack.append(_Block(indent, skip=True))
        elif NOTE.match(line):
            name = NOTE.match(line).group(1)  # type: ignore[union-attr]
            if name and not name.isdigit():
                state.page.anchors.add(docutils_id(name))
        elif directive:
            return self.directive(directive, indent)
        elif not re.match(r"\s*\.\.\s+\|", line):  # a comment (not a substitution)
            self.stack.append(_Block(indent, skip=True))
        return 1

    def directive(self, match: re.Match[str], indent: int) -> int:
        kind = match.group(2)
        more, options, body = _head(self.lines, self.index + 1, indent)
        arguments = [a for a in [match.group(3) or "", *more] if a]
        block = _Block(indent)
        if kind == "include" and arguments:
            _include(self.state, arguments[0], self.here)
        else:
            _directive(self.state, kind, arguments, options, block)
        self.state.section_start = False
        self.stack.append(block)
        return body - self.index

    def paragraph(self, line: str, indent: int) -> None:
        self.state.section_start = False
        self.state.waiting.clear()
        for target in INLINE_TARGET.findall(line):
            self.state.page.anchors.add(docutils_id(target))
        _take_link_names(self.state, line)
        if line.rstrip().endswith("::"):
            self.literal_after = indent


def _continues(lines: list[str], index: int) -> bool:
    """Whether the line after ``index`` goes on with it (indented, no blank line between)."""
    return index + 1 < len(lines) and bool(lines[index + 1].strip()) and \
        _indent(lines[index + 1]) > _indent(lines[index])


def _is_target(state: _State, kind: str) -> bool:
    """Directives that make only a target, which the next section takes in."""
    kind = kind.removeprefix("py:").removeprefix("std:")
    return kind == "module" or kind in state.dialect.crossrefs


def _glossary_line(state: _State, block: _Block, line: str) -> None:
    """A term (at the indent of the glossary's first line) or its definition (deeper)."""
    if block.terms_indent is None:
        block.terms_indent = _indent(line)
    if _indent(line) == block.terms_indent:
        state.page.anchors.add(sphinx_id(f"term-{line.strip()}"))


def _no_file(path: str) -> str | None:
    return None


def anchors(text: str, dialect: Dialect = PLAIN, read: Callable[[str], str | None] = _no_file,
            path: str = "") -> Page:
    """The anchors of the page whose source is ``text`` (``path`` inside the docs folder,
    and ``read`` for the files it includes)."""
    state = _State(dialect, Page(), read)
    _walk(state, text.splitlines(), path)
    state.page.anchors.discard("")
    return state.page
