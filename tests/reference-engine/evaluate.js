// The reference engine for crates/shequ-forms/tests/reference_engine.rs: Enketo's
// openrosa-xpath-evaluator (the evaluator behind Enketo and ODK Web Forms' predecessor) over a
// jsdom XML document. Reads a JSON array of cases on stdin, each
//   { "expr": "<XPath>", "xml": "<data>…</data>", "context": "/data/a" (optional) }
// and writes a JSON array of results on stdout, each { "value": string } (XPath string() of the
// result) or { "error": message }. Run with TZ=UTC so dates agree with a zero-offset Env.
'use strict';

const { JSDOM } = require('jsdom');

const { window } = new JSDOM('');
// openrosa-xpath-evaluator expects the browser's DOM and XPath globals.
for (const name of ['Node', 'XPathResult', 'XPathEvaluator', 'Element', 'Attr', 'Document']) {
    global[name] = window[name];
}
global.window = window;
// Browsers default XPathExpression#evaluate's result type to ANY_TYPE; jsdom requires it, and
// the evaluator leaves it out when it continues a path after a predicate (item[…]/label).
const createExpression = window.XPathEvaluator.prototype.createExpression;
window.XPathEvaluator.prototype.createExpression = function (...args) {
    const expr = createExpression.apply(this, args);
    const evaluate = expr.evaluate;
    expr.evaluate = (node, type = 0, result = null) => evaluate.call(expr, node, type, result);
    return expr;
};
window.enketoFormLocale = 'en-US';

const orxe = require('openrosa-xpath-evaluator');

const evaluator = orxe();
const parser = new window.DOMParser();

function evaluateCase({ expr, xml, context }) {
    const doc = parser.parseFromString(xml, 'text/xml');
    let node = doc;
    if (context) {
        node = doc.evaluate(context, doc, null, window.XPathResult.FIRST_ORDERED_NODE_TYPE, null)
            .singleNodeValue;
        if (!node) throw new Error(`context ${context} not found`);
    }
    const r = evaluator.evaluate(expr, node, null, window.XPathResult.STRING_TYPE, null);
    return r.stringValue;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
    input += chunk;
});
process.stdin.on('end', () => {
    const cases = JSON.parse(input);
    const out = cases.map((c) => {
        try {
            return { value: String(evaluateCase(c)).toWellFormed() };
        } catch (e) {
            return { error: String((e && e.message) || e).slice(0, 300) };
        }
    });
    process.stdout.write(JSON.stringify(out));
});
