//! `seg lsp`: a Language Server Protocol 3.17 server on stdio (lsp-server for the
//! transport, lsp-types for the messages). Every answer comes from the shared
//! driver's analysis of the open buffer: diagnostics are `seg check`'s; names come
//! from the AST of the statements that parse; types and labels from the last
//! analysis that checked cleanly, so hover and completion keep working mid-edit.

mod features;
mod index;
mod text;

use crate::driver::{Driver, LoadOptions, SpecFile};
use crate::engine::paths::PathPolicy;
use index::{Index, Kind};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use text::Lines;

/// Runs the server until the client says exit; an error if the connection broke.
pub fn run() -> Result<(), Error> {
    let (conn, io) = Connection::stdio();
    let result = serve(&conn);
    drop(conn);
    // After the session ended, the I/O threads may fail on the client's closing
    // pipes or on messages sent after `exit`: nothing is lost then.
    let _ = io.join();
    result?;
    Ok(())
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![" ".into(), "\"".into(), "(".into(), ",".into()]),
            ..Default::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        workspace_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
            SemanticTokensOptions {
                legend: SemanticTokensLegend {
                    token_types: features::TOKEN_TYPES.to_vec(),
                    token_modifiers: vec![SemanticTokenModifier::DECLARATION],
                },
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: Default::default(),
            },
        )),
        ..Default::default()
    }
}

/// Serves one client on `conn` (stdio for `seg lsp`; in memory for the benchmark).
pub fn serve(conn: &Connection) -> Result<(), Error> {
    let caps = serde_json::to_value(capabilities())?;
    let init = conn.initialize(caps)?;
    let init: InitializeParams = serde_json::from_value(init)?;
    #[allow(deprecated)]
    let mut roots: Vec<PathBuf> = init
        .workspace_folders
        .unwrap_or_default()
        .iter()
        .filter_map(|f| f.uri.to_file_path().ok())
        .collect();
    #[allow(deprecated)]
    if roots.is_empty() {
        roots.extend(init.root_uri.and_then(|u| u.to_file_path().ok()));
    }
    let mut server = Server {
        driver: Driver::new(LoadOptions {
            no_data: false,
            policy: PathPolicy { allow_outside: false },
            sources: Default::default(),
            as_of: None,
            no_lock: false,
            database: None,
        }),
        docs: HashMap::new(),
        roots,
    };
    for msg in &conn.receiver {
        match msg {
            Message::Request(req) => {
                match conn.handle_shutdown(&req) {
                    Ok(true) => return Ok(()),
                    Ok(false) => {}
                    // Asked to shut down, the client closed the pipe instead of
                    // sending `exit` (Neovim's `:qa` does): the session still ended.
                    Err(_) if req.method == request::Shutdown::METHOD => return Ok(()),
                    Err(e) => return Err(e.into()),
                }
                let id = req.id.clone();
                let resp = match server.request(req) {
                    Ok(v) => Response::new_ok(id, v),
                    Err((code, msg)) => Response::new_err(id, code as i32, msg),
                };
                // A failed send means the client is gone: the session is over.
                if conn.sender.send(Message::Response(resp)).is_err() {
                    return Ok(());
                }
            }
            Message::Notification(n) => {
                for out in server.notification(n) {
                    if conn.sender.send(Message::Notification(out)).is_err() {
                        return Ok(());
                    }
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

/// An open document: its text, its analysis and the last analysis that checked.
struct Doc {
    text: String,
    path: PathBuf,
    /// The statements that parse (hover and code actions read the rules' spans).
    ast: crate::syntax::ast::Program,
    spec: Arc<SpecFile>,
    good: Option<Arc<SpecFile>>,
    index: Index,
}

struct Server {
    driver: Driver,
    docs: HashMap<Url, Doc>,
    roots: Vec<PathBuf>,
}

type Reply = Result<serde_json::Value, (ErrorCode, String)>;

fn params<P: serde::de::DeserializeOwned>(req: Request) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(req.params).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
}

fn ok<T: serde::Serialize>(v: T) -> Reply {
    serde_json::to_value(v).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

fn path_of(uri: &Url) -> PathBuf {
    uri.to_file_path().unwrap_or_else(|_| {
        // An untitled buffer: data paths resolve against the working folder.
        std::env::current_dir().unwrap_or_default().join("untitled.seg")
    })
}

impl Server {
    fn open(&mut self, uri: Url, text: String) -> Notification {
        let path = path_of(&uri);
        let display = path.display().to_string();
        let spec = self.driver.analyse(&path, &display, text.as_bytes());
        let parsed = crate::syntax::parse_str(&text);
        let previous = self.docs.remove(&uri);
        let opening = previous.is_none();
        let old_good = previous.and_then(|d| d.good);
        let good = if spec.program.is_some() {
            Some(spec.clone())
        } else if opening {
            // Opened with errors: the file as saved may check, and give types and
            // labels until the buffer does. Read once, when the document opens, not
            // on every keystroke.
            self.driver.load(&path, &display).ok().filter(|s| s.program.is_some())
        } else {
            old_good
        };
        let index = Index::build(&parsed.program, &read_columns(good.as_deref(), &text));
        let lines = Lines::new(&text);
        let diagnostics =
            spec.diagnostics.iter().map(|d| text::diagnostic(&uri, &lines, d)).collect();
        let note = Notification::new(
            notification::PublishDiagnostics::METHOD.to_string(),
            PublishDiagnosticsParams { uri: uri.clone(), diagnostics, version: None },
        );
        self.docs.insert(uri, Doc { text, path, ast: parsed.program, spec, good, index });
        note
    }

    fn notification(&mut self, n: Notification) -> Vec<Notification> {
        match n.method.as_str() {
            notification::DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) else {
                    return vec![];
                };
                vec![self.open(p.text_document.uri, p.text_document.text)]
            }
            notification::DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) else {
                    return vec![];
                };
                // Full sync: the last change holds the whole text.
                match p.content_changes.into_iter().last() {
                    Some(c) => vec![self.open(p.text_document.uri, c.text)],
                    None => vec![],
                }
            }
            notification::DidSaveTextDocument::METHOD => {
                // A saved spec may have a new lock file or data beside it: analyse again
                // (the driver re-reads only what changed on disk).
                let Ok(p) = serde_json::from_value::<DidSaveTextDocumentParams>(n.params) else {
                    return vec![];
                };
                match self.docs.get(&p.text_document.uri).map(|d| d.text.clone()) {
                    Some(text) => vec![self.open(p.text_document.uri, text)],
                    None => vec![],
                }
            }
            notification::DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    self.docs.remove(&p.text_document.uri);
                    return vec![Notification::new(
                        notification::PublishDiagnostics::METHOD.to_string(),
                        PublishDiagnosticsParams {
                            uri: p.text_document.uri,
                            diagnostics: vec![],
                            version: None,
                        },
                    )];
                }
                vec![]
            }
            _ => vec![],
        }
    }

    fn doc(&self, uri: &Url) -> Result<&Doc, (ErrorCode, String)> {
        self.docs.get(uri).ok_or_else(|| (ErrorCode::InvalidParams, format!("{uri} is not open")))
    }

    fn request(&mut self, req: Request) -> Reply {
        match req.method.as_str() {
            request::HoverRequest::METHOD => {
                let p: HoverParams = params(req)?;
                let pos = p.text_document_position_params;
                let doc = self.doc(&pos.text_document.uri)?;
                let lines = Lines::new(&doc.text);
                let at = lines.offset(pos.position);
                ok(features::hover(doc, at).map(|(md, span)| Hover {
                    contents: HoverContents::Markup(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: md,
                    }),
                    range: span.map(|s| lines.range(s)),
                }))
            }
            request::Completion::METHOD => {
                let p: CompletionParams = params(req)?;
                let pos = p.text_document_position;
                let doc = self.doc(&pos.text_document.uri)?;
                let at = Lines::new(&doc.text).offset(pos.position);
                ok(CompletionResponse::Array(features::complete(doc, at)))
            }
            request::GotoDefinition::METHOD => {
                let p: GotoDefinitionParams = params(req)?;
                let pos = p.text_document_position_params;
                let uri = pos.text_document.uri;
                let doc = self.doc(&uri)?;
                let lines = Lines::new(&doc.text);
                let at = lines.offset(pos.position);
                let def = doc.index.at(at).and_then(|o| doc.index.definition(o.sym));
                ok(def.map(|d| {
                    GotoDefinitionResponse::Scalar(Location::new(uri.clone(), lines.range(d.span)))
                }))
            }
            request::References::METHOD => {
                let p: ReferenceParams = params(req)?;
                let pos = p.text_document_position;
                let uri = pos.text_document.uri;
                let doc = self.doc(&uri)?;
                let lines = Lines::new(&doc.text);
                let at = lines.offset(pos.position);
                let Some(occ) = doc.index.at(at) else { return ok(Vec::<Location>::new()) };
                let locs: Vec<Location> = doc
                    .index
                    .occurrences(occ.sym)
                    .filter(|o| p.context.include_declaration || !o.def)
                    .map(|o| Location::new(uri.clone(), lines.range(o.span)))
                    .collect();
                ok(locs)
            }
            request::PrepareRenameRequest::METHOD => {
                let p: TextDocumentPositionParams = params(req)?;
                let doc = self.doc(&p.text_document.uri)?;
                let lines = Lines::new(&doc.text);
                let at = lines.offset(p.position);
                match doc.index.at(at) {
                    Some(o) if renamable(doc.index.syms[o.sym].kind) => {
                        ok(PrepareRenameResponse::Range(lines.range(o.span)))
                    }
                    _ => Err((ErrorCode::InvalidRequest, "nothing to rename here".to_string())),
                }
            }
            request::Rename::METHOD => {
                let p: RenameParams = params(req)?;
                let pos = p.text_document_position;
                let uri = pos.text_document.uri;
                let doc = self.doc(&uri)?;
                rename(doc, &uri, pos.position, &p.new_name)
            }
            request::DocumentSymbolRequest::METHOD => {
                let p: DocumentSymbolParams = params(req)?;
                let doc = self.doc(&p.text_document.uri)?;
                ok(DocumentSymbolResponse::Nested(features::document_symbols(doc)))
            }
            request::WorkspaceSymbolRequest::METHOD => {
                let p: WorkspaceSymbolParams = params(req)?;
                ok(WorkspaceSymbolResponse::Flat(self.workspace_symbols(&p.query)))
            }
            request::Formatting::METHOD => {
                let p: DocumentFormattingParams = params(req)?;
                let doc = self.doc(&p.text_document.uri)?;
                match crate::fmt::format_bytes(doc.text.as_bytes()) {
                    Ok(f) if f == doc.text => ok(Vec::<TextEdit>::new()),
                    Ok(f) => ok(vec![TextEdit::new(Lines::new(&doc.text).all(), f)]),
                    // A spec that does not parse is left alone; the diagnostics say why.
                    Err(_) => ok(Option::<Vec<TextEdit>>::None),
                }
            }
            request::CodeActionRequest::METHOD => {
                let p: CodeActionParams = params(req)?;
                let uri = p.text_document.uri.clone();
                let doc = self.doc(&uri)?;
                ok(features::code_actions(doc, &uri, p.range))
            }
            request::SemanticTokensFullRequest::METHOD => {
                let p: SemanticTokensParams = params(req)?;
                let doc = self.doc(&p.text_document.uri)?;
                ok(SemanticTokensResult::Tokens(SemanticTokens {
                    result_id: None,
                    data: features::semantic_tokens(doc),
                }))
            }
            _ => Err((ErrorCode::MethodNotFound, format!("{} is not supported", req.method))),
        }
    }

    /// Top-level definitions of every spec under the workspace folders (open
    /// buffers as they are in the editor) whose name contains `query`.
    #[allow(deprecated)]
    fn workspace_symbols(&self, query: &str) -> Vec<SymbolInformation> {
        let q = query.to_lowercase();
        let mut files = Vec::new();
        for root in &self.roots {
            crate::driver::spec_files_under(root, &mut files);
        }
        for doc in self.docs.values() {
            if !files.contains(&doc.path) {
                files.push(doc.path.clone());
            }
        }
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let Ok(uri) = Url::from_file_path(&path) else { continue };
            let text = match self.docs.get(&uri) {
                Some(d) => d.text.clone(),
                None => match std::fs::read_to_string(&path) {
                    Ok(t) if t.len() <= crate::syntax::errors::MAX_SPEC_BYTES => t,
                    _ => continue,
                },
            };
            let parsed = crate::syntax::parse_str(&text);
            let index = Index::build(&parsed.program, &[]);
            let lines = Lines::new(&text);
            for o in index.occs.iter().filter(|o| o.def) {
                let s = &index.syms[o.sym];
                if !s.name.to_lowercase().contains(&q) {
                    continue;
                }
                out.push(SymbolInformation {
                    name: s.name.clone(),
                    kind: features::symbol_kind(s.kind),
                    tags: None,
                    deprecated: None,
                    location: Location::new(uri.clone(), lines.range(o.span)),
                    container_name: (!s.scope.is_empty()).then(|| s.scope.clone()),
                });
            }
        }
        out
    }
}

/// Columns that markets and tables without `columns { ... }` read from their data
/// files, placed at the file's path in `text` (when it is still where it was).
fn read_columns(
    good: Option<&SpecFile>,
    text: &str,
) -> Vec<(String, Vec<String>, crate::span::Span)> {
    let Some(p) = good.and_then(|g| g.program.as_ref()) else { return vec![] };
    let at = |span: crate::span::Span, path: &str| {
        let here = text.get(span.start as usize..span.end as usize);
        here.is_some_and(|h| h.contains(path)).then_some(span)
    };
    let mut out = Vec::new();
    for m in p.markets.iter().filter(|m| m.declared.is_none()) {
        if let Some(span) = at(m.path_span, &m.path) {
            out.push((m.name.clone(), m.columns.iter().map(|c| c.name.clone()).collect(), span));
        }
    }
    for t in &p.tables {
        if let Some(span) = at(t.path_span, &t.path) {
            out.push((t.name.clone(), t.columns.iter().map(|c| c.name.clone()).collect(), span));
        }
    }
    out
}

fn renamable(k: Kind) -> bool {
    !matches!(k, Kind::Column)
}

/// Every occurrence of the symbol at `pos` renamed, or a refusal that says why.
fn rename(doc: &Doc, uri: &Url, pos: Position, new: &str) -> Reply {
    let lines = Lines::new(&doc.text);
    let at = lines.offset(pos);
    let Some(occ) = doc.index.at(at) else {
        return Err((ErrorCode::InvalidRequest, "no name to rename here".to_string()));
    };
    let sym = &doc.index.syms[occ.sym];
    if !renamable(sym.kind) {
        return Err((
            ErrorCode::InvalidRequest,
            format!("`{}` is a column of the data; rename it in the data file", sym.name),
        ));
    }
    let valid = new.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && new.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !crate::syntax::KEYWORDS.contains(&new);
    if !valid {
        return Err((
            ErrorCode::InvalidParams,
            format!("`{new}` is not a name: use letters, digits and `_`, not a keyword"),
        ));
    }
    if let Some(other) = doc.index.clash(occ.sym, new) {
        return Err((
            ErrorCode::InvalidRequest,
            format!(
                "cannot rename {} `{}` to `{new}`: {} `{new}` already exists",
                sym.kind.word(),
                sym.name,
                other.kind.word()
            ),
        ));
    }
    let edits: Vec<TextEdit> = doc
        .index
        .occurrences(occ.sym)
        .map(|o| TextEdit::new(lines.range(o.span), new.to_string()))
        .collect();
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), edits);
    ok(WorkspaceEdit { changes: Some(changes), ..Default::default() })
}
