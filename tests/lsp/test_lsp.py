"""End-to-end tests of `seg lsp` through an independent LSP client (pytest-lsp),
on the specs in specs/. Each test logs what the server answered, so the CI log
shows every feature working."""

import logging
import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
SEG = os.environ.get("SEG_BIN", str(ROOT / "target" / "debug" / "seg"))
log = logging.getLogger("seg-lsp")


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[SEG, "lsp"], server_env={"NO_COLOR": "1"}),
)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=ROOT.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=SPECS.as_uri(), name="specs")],
        )
    )
    yield
    await lsp_client.shutdown_session()


def uri(name: str) -> str:
    return (SPECS / name).as_uri()


def text(name: str) -> str:
    return (SPECS / name).read_text()


def position(source: str, needle: str, nth: int = 0, delta: int = 0) -> types.Position:
    """The position of the nth occurrence of needle (plus delta characters)."""
    at = -1
    for _ in range(nth + 1):
        at = source.index(needle, at + 1)
    at += delta
    line = source.count("\n", 0, at)
    col = at - (source.rfind("\n", 0, at) + 1)
    return types.Position(line=line, character=col)


async def open_doc(client: LanguageClient, name: str, source: str | None = None, version: int = 1):
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri(name), language_id="seg", version=version, text=source or text(name)
            )
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics[uri(name)]


async def change(client: LanguageClient, name: str, source: str, version: int):
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(name), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=source)],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client.diagnostics[uri(name)]


@pytest.mark.parametrize("name", sorted(p.name for p in SPECS.glob("*.seg")))
async def test_diagnostics_on_every_spec_are_clean(client: LanguageClient, name: str):
    diags = await open_doc(client, name)
    errors = [d for d in diags if d.severity == types.DiagnosticSeverity.Error]
    log.info("diagnostics %s: %d (%d errors)", name, len(diags), len(errors))
    assert errors == []


async def test_diagnostics_while_typing(client: LanguageClient):
    source = text("coffee.seg")
    await open_doc(client, "coffee.seg", source)
    # Half-way through typing a statement: a syntax error at the end.
    typing = source + "\nsegment half = coffee by\n"
    diags = await change(client, "coffee.seg", typing, 2)
    log.info("diagnostics while typing: %s", [(d.code, d.message.splitlines()[0]) for d in diags])
    assert any(d.severity == types.DiagnosticSeverity.Error for d in diags)
    # A misspelt column: the checker's code, a span on the name, and help.
    typo = source.replace("where revenue > 0", "where revenu > 0")
    diags = await change(client, "coffee.seg", typo, 3)
    bad = [d for d in diags if "revenu" in d.message]
    log.info("diagnostics for a typo: %s", [(d.code, d.range, d.message) for d in bad])
    assert bad and bad[0].code.startswith("E")
    assert bad[0].range.start == position(typo, "revenu >")
    assert "did you mean `revenue`" in bad[0].message
    # Overlapping partition rules: the witness, with the rules as related information.
    overlap = source + (
        "\ndimension size on coffee = partition {\n"
        "  kg < 10 => \"small\"\n  kg >= 5 => \"large\"\n}\n"
    )
    diags = await change(client, "coffee.seg", overlap, 4)
    over = [d for d in diags if "overlap" in d.message.lower() or "both" in d.message.lower()]
    log.info("MECE diagnostics: %s", [(d.code, d.message.splitlines()[0], d.related_information) for d in over])
    assert over and over[0].related_information
    diags = await change(client, "coffee.seg", source, 5)
    assert not [d for d in diags if d.severity == types.DiagnosticSeverity.Error]


async def test_hover(client: LanguageClient):
    source = text("coffee.seg")
    await open_doc(client, "coffee.seg", source)

    async def hover(pos):
        h = await client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri("coffee.seg")), position=pos)
        )
        return h.contents.value if h else ""

    bins = await hover(position(source, "age_band", 1))
    log.info("hover on a bins dimension: %r", bins)
    assert "bins" in bins and "`18-25`" in bins and "18 <= x < 25" in bins
    column = await hover(position(source, "top 3 region", 0, len("top 3 r")))
    log.info("hover on a column: %r", column)
    assert "text" in column and "null" in column
    measure = await hover(position(source, "price", 0, 1))
    log.info("hover on a measure: %r", measure)
    assert "value / volume" in measure and "float" in measure
    rule = await hover(position(source, '=> "b2b"'))
    # Reopened with an error in it: types and labels come from the file as saved.
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri("coffee.seg")))
    )
    broken = source.replace("where revenue > 0", "where revenu > 0")
    await open_doc(client, "coffee.seg", broken)
    mid_edit = await hover(position(broken, "age_band", 1))
    log.info("hover while the buffer has an error: %r", mid_edit)
    assert "18 <= x < 25" in mid_edit
    log.info("hover on a rule: %r", rule)
    assert "can fire" in rule


async def test_completion(client: LanguageClient):
    source = text("coffee.seg") + "\nsegment more = coffee by \n"
    await open_doc(client, "coffee.seg", source)

    async def complete(pos):
        r = await client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri("coffee.seg")), position=pos)
        )
        items = r.items if isinstance(r, types.CompletionList) else r
        return [i.label for i in items]

    lines = source.count("\n")
    dims = await complete(types.Position(line=lines - 1, character=len("segment more = coffee by ")))
    log.info("completion after `by`: %s", dims)
    assert {"product_line", "buyer", "age_band"} <= set(dims)
    cols = await complete(position(source, "where revenue", 0, len("where ")))
    log.info("completion in a market's where: %d items, e.g. %s", len(cols), cols[:8])
    assert {"revenue", "customer_type", "sum", "count"} <= set(cols)
    labels = await complete(position(source, 'buyer "b2b"', 0, len('buyer "')))
    log.info("completion of labels in an example: %s", labels)
    assert set(labels) == {"b2b", "b2c"}
    top = await complete(types.Position(line=lines, character=0))
    log.info("completion at a statement start: %s", top)
    assert "dimension" in top and "segment" in top


async def test_definition_and_references(client: LanguageClient):
    source = text("coffee.seg")
    await open_doc(client, "coffee.seg", source)
    doc = types.TextDocumentIdentifier(uri=uri("coffee.seg"))
    use = position(source, "by buyer", 0, 3)
    d = await client.text_document_definition_async(types.DefinitionParams(text_document=doc, position=use))
    loc = d[0] if isinstance(d, list) else d
    log.info("definition of `buyer`: %s", loc)
    assert loc.range.start == position(source, "buyer on coffee")
    refs = await client.text_document_references_async(
        types.ReferenceParams(text_document=doc, position=use, context=types.ReferenceContext(include_declaration=True))
    )
    log.info("references of `buyer`: %s", [(r.range.start.line, r.range.start.character) for r in refs])
    assert len(refs) == source.count("buyer ") - source.count("buyer on") + 1 or len(refs) >= 4


async def test_rename(client: LanguageClient):
    source = text("coffee.seg")
    await open_doc(client, "coffee.seg", source)
    doc = types.TextDocumentIdentifier(uri=uri("coffee.seg"))
    at = position(source, "buyer on coffee")
    edit = await client.text_document_rename_async(types.RenameParams(text_document=doc, position=at, new_name="purchaser"))
    edits = edit.changes[uri("coffee.seg")]
    log.info("rename `buyer` → `purchaser`: %d edits", len(edits))
    assert len(edits) >= 4 and all(e.new_text == "purchaser" for e in edits)
    with pytest.raises(Exception) as refused:
        await client.text_document_rename_async(types.RenameParams(text_document=doc, position=at, new_name="venue"))
    log.info("rename onto an existing name is refused: %s", refused.value)
    assert "already exists" in str(refused.value)


async def test_symbols(client: LanguageClient):
    await open_doc(client, "coffee.seg")
    syms = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri("coffee.seg")))
    )
    names = [s.name for s in syms]
    log.info("document symbols: %s", names)
    market = next(s for s in syms if s.name == "coffee")
    assert {"volume", "value", "price"} <= {c.name for c in market.children or []}
    assert {"product_line", "customers", "age_grid"} <= set(names)
    ws = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="segments"))
    files = sorted({pathlib.Path(s.location.uri).name for s in ws})
    log.info("workspace symbols for `segments`: %s in %s", [s.name for s in ws], files)
    assert any(s.name == "rfm_segments" for s in ws)
    ws = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=""))
    files = {pathlib.Path(s.location.uri).name for s in ws}
    log.info("workspace symbols span %d specs", len(files))
    assert len(files) == len(list(SPECS.glob("*.seg")))


async def test_formatting(client: LanguageClient):
    ugly = text("coffee.seg").replace("measure value  = sum(revenue)", "measure   value=sum( revenue )")
    await open_doc(client, "coffee.seg", ugly)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=uri("coffee.seg")),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    log.info("formatting: %d edit(s)", len(edits))
    assert len(edits) == 1 and edits[0].new_text == text("coffee.seg")


async def test_code_actions(client: LanguageClient):
    source = text("coffee.seg").replace("where revenue > 0", "where revenu > 0")
    diags = await open_doc(client, "coffee.seg", source)
    typo = next(d for d in diags if "revenu" in d.message)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri("coffee.seg")),
            range=typo.range,
            context=types.CodeActionContext(diagnostics=[typo]),
        )
    )
    log.info("code actions for a typo: %s", [a.title for a in actions])
    fix = next(a for a in actions if "revenue" in a.title)
    assert fix.edit.changes[uri("coffee.seg")][0].new_text == "revenue"
    gap = text("coffee.seg") + '\ndimension heavy on coffee = rules {\n  kg > 10 => "heavy"\n}\n'
    diags = await change(client, "coffee.seg", gap, 2)
    warn = next(d for d in diags if "unassigned" in d.message)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri("coffee.seg")),
            range=warn.range,
            context=types.CodeActionContext(diagnostics=[warn]),
        )
    )
    log.info("code actions for rules that leave rows unassigned: %s", [a.title for a in actions])
    add = next(a for a in actions if "else" in a.title)
    assert "else =>" in add.edit.changes[uri("coffee.seg")][0].new_text


async def test_semantic_tokens(client: LanguageClient):
    await open_doc(client, "shoppers.seg")
    toks = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=types.TextDocumentIdentifier(uri=uri("shoppers.seg")))
    )
    log.info("semantic tokens for shoppers.seg: %d", len(toks.data) // 5)
    assert len(toks.data) > 100 and len(toks.data) % 5 == 0


async def test_columns_read_from_the_data(client: LanguageClient):
    source = text("coffee.seg")
    start = source.index("  columns {")
    end = source.index("  }\n", start) + len("  }\n")
    undeclared = source[:start] + source[end:]
    await open_doc(client, "coffee.seg", undeclared)
    doc = types.TextDocumentIdentifier(uri=uri("coffee.seg"))
    at = position(undeclared, "where revenue", 0, len("where r"))
    h = await client.text_document_hover_async(types.HoverParams(text_document=doc, position=at))
    log.info("hover on a column read from the data file: %r", h.contents.value)
    assert "float" in h.contents.value and "coffee_sales.csv" in h.contents.value
    d = await client.text_document_definition_async(types.DefinitionParams(text_document=doc, position=at))
    loc = d[0] if isinstance(d, list) else d
    log.info("definition of that column: the data file's path at %s", loc.range)
    assert loc.range.start == position(undeclared, '"data/coffee_sales.csv"')
