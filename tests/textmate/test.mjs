// Tokenizes every spec in specs/ (and the comment-positions case) with the TextMate
// grammar through vscode-textmate and vscode-oniguruma, as VS Code would, and checks
// the scope of every keyword, string, number, date, comment and backquoted name.
// An independent scan of each line says what each piece of text is.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const require = createRequire(process.env.TEXTMATE_MODULES + "/");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
await oniguruma.loadWASM(wasm);
const registry = new vsctm.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (p) => new oniguruma.OnigScanner(p),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async () => {
    const text = fs.readFileSync(path.join(root, "grammar/seg.tmLanguage.json"), "utf8");
    return vsctm.parseRawGrammar(text, "seg.tmLanguage.json");
  },
});
const grammar = await registry.loadGrammar("source.seg");

const STATEMENTS = ["market", "table", "entity", "dimension", "segment", "expect", "example"];
const KEYWORDS = ["from", "where", "on", "of", "by", "else", "then", "rules", "partition", "bins",
  "quantiles", "labels", "measures", "share", "over", "migrate", "with", "total", "top", "is"];
const LOGICAL = ["and", "or", "not", "in", "between", "like", "distinct"];

// What a piece of a line is, by a scan that knows strings, names and comments.
function pieces(line) {
  const out = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    const rest = line.slice(i);
    let m;
    if (c === "#") { out.push(["comment", i, line.length]); break; }
    if (c === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
      out.push(["string", i, Math.min(j + 1, line.length)]); i = j + 1; continue;
    }
    if (c === "`") { const j = line.indexOf("`", i + 1); out.push(["quoted", i, j + 1]); i = j + 1; continue; }
    if ((m = rest.match(/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(?![A-Za-z0-9_])/))) { out.push(["timestamp", i, i + m[0].length]); i += m[0].length; continue; }
    if ((m = rest.match(/^\d{4}-\d{2}-\d{2}(?![A-Za-z0-9_])/))) { out.push(["date", i, i + m[0].length]); i += m[0].length; continue; }
    if ((m = rest.match(/^\d+(\.\d+)?%?/))) { out.push(["number", i, i + m[0].length]); i += m[0].length; continue; }
    if ((m = rest.match(/^[A-Za-z_][A-Za-z0-9_]*/))) {
      const w = m[0];
      const prev = line.slice(0, i).trimEnd();
      const call = /^\s*\(/.test(line.slice(i + w.length));
      // A word right after a statement keyword is the name it defines.
      const defining = /\b(market|table|entity|dimension|segment|measure)$/.test(prev);
      let kind = "name";
      if (!defining && !call && STATEMENTS.includes(w)) kind = "statement";
      else if (!defining && !call && KEYWORDS.includes(w)) kind = "keyword";
      else if (!defining && LOGICAL.includes(w)) kind = "logical";
      out.push([kind, i, i + w.length, w]); i += w.length; continue;
    }
    i += 1;
  }
  return out;
}

const EXPECT = {
  comment: "comment.line.number-sign.seg",
  string: "string.quoted.double.seg",
  quoted: "variable.other.quoted.seg",
  date: "constant.numeric.date.seg",
  timestamp: "constant.numeric.timestamp.seg",
  number: "constant.numeric",
  statement: "keyword.control.statement.seg",
  keyword: "keyword.other.seg",
  logical: "keyword.operator.logical.seg",
};

const files = fs.readdirSync(path.join(root, "specs")).filter((f) => f.endsWith(".seg")).map((f) => path.join(root, "specs", f));
files.push(path.join(root, "tests/cases/fmt/comments.seg"), path.join(root, "tests/textmate/sample.seg"));
const failures = [];
const seen = {};
for (const file of files) {
  let state = vsctm.INITIAL;
  const lines = fs.readFileSync(file, "utf8").split("\n");
  lines.forEach((line, n) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    const scopesAt = (i) => (r.tokens.find((t) => t.startIndex <= i && i < t.endIndex) || { scopes: [] }).scopes;
    for (const [kind, s, e, w] of pieces(line)) {
      const want = EXPECT[kind];
      if (!want) continue;
      for (let i = s; i < e; i++) {
        const scopes = scopesAt(i);
        if (!scopes.some((x) => x.startsWith(want))) {
          failures.push(`${path.relative(root, file)}:${n + 1}:${i + 1}: ${kind} ${JSON.stringify(line.slice(s, e))} has scopes ${scopes.join(" ")}`);
          break;
        }
      }
      seen[kind] = (seen[kind] || 0) + 1;
    }
  });
}
for (const kind of Object.keys(EXPECT)) {
  if (!seen[kind]) failures.push(`no ${kind} was seen in the files: the test would not catch a broken rule`);
}
console.log(`tokenized ${files.length} specs; checked ${JSON.stringify(seen)}`);
if (failures.length) {
  console.log(failures.slice(0, 40).join("\n"));
  process.exit(1);
}
