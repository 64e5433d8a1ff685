// The page's user interface: two drop zones / file inputs, one verdict. Values from files are
// rendered with textContent only (never innerHTML), so a credential cannot inject markup or script.
import {verifyCredential} from './verify.js';

export {verifyCredential, checkProof, didKeyBytes, summary} from './verify.js';

const state = {credential: null, status: null, run: 0};

function readJsonScript(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

async function fetchStatusList(url) {
  // Only when the page itself is served over http(s): a file:// page never goes to the network.
  if (!/^https?:$/.test(location.protocol) || !/^https?:\/\//.test(url)) throw new Error('offline');
  const response = await fetch(url, {cache: 'no-store'});
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.text();
}

async function run() {
  if (!state.credential) return;
  const run = ++state.run;
  const started = performance.now();
  const verdict = document.getElementById('verdict');
  verdict.dataset.state = 'pending';
  verdict.textContent = 'Checking…';
  let result;
  try {
    result = await verifyCredential({
      credentialText: state.credential.text, statusText: state.status ? state.status.text : null,
      issuer: readJsonScript('trusted-issuer'), contexts: readJsonScript('pinned-contexts'), fetchStatusList,
    });
  } catch (error) {
    result = {state: 'invalid', verdict: 'INVALID', reasons: [`the check could not be completed (${error.message})`], notes: [], summary: null};
  }
  if (run !== state.run) return;  // a newer file was chosen meanwhile
  render(result);
  verdict.dataset.ms = String(Math.round(performance.now() - started));  // how long the check took
  verdict.dataset.run = String(run);
}

function render(result) {
  const verdict = document.getElementById('verdict');
  verdict.textContent = result.verdict;
  document.getElementById('checked-file').textContent = state.credential ? `checked: ${state.credential.name}` : '';
  const reasons = document.getElementById('reasons');
  reasons.replaceChildren(...result.reasons.map((reason) => element('li', reason)),
    ...result.notes.map((note) => element('li', note, 'note')));
  const details = document.getElementById('details');
  details.replaceChildren();
  const facts = result.summary;
  if (facts) {
    const rows = [['Learner', `${facts.name}${facts.learnerId ? ` (${facts.learnerId})` : ''}`], ['Track', facts.track],
      ['Valid from', facts.validFrom], ['Valid until', facts.validUntil || 'no expiry'], ['Issuer', facts.issuer],
      ['Credential id', facts.id]];
    for (const [label, value] of rows) {
      const tr = element('tr');
      tr.append(element('th', label), element('td', value));
      details.append(tr);
    }
    for (const lab of facts.results) {
      const tr = element('tr');
      tr.append(element('th', lab.lab), element('td', `${lab.value} %${lab.required ? ` (required ${lab.required} %)` : ''}`));
      details.append(tr);
    }
  }
  verdict.dataset.state = result.state;
}

function take(kind, file) {
  if (!file) return;
  file.text().then((text) => {
    state[kind] = {name: file.name, text};
    document.getElementById(`${kind}-name`).textContent = file.name;
    run();
  });
}

function wire(kind) {
  const input = document.getElementById(`${kind}-file`);
  const zone = document.getElementById(`${kind}-zone`);
  input.addEventListener('change', () => take(kind, input.files[0]));
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    take(kind, event.dataTransfer.files[0]);
  });
}

/**
 * verify.html#credential=<path>, the link in the certificate's QR code: when the page is served over
 * http(s), fetch that credential from the same site and check it at once (its status list is then
 * fetched too). The fragment never reaches the server; another site's URL is refused.
 */
async function fromLink() {
  const match = /^#credential=(.+)$/.exec(location.hash);
  if (!match || !/^https?:$/.test(location.protocol)) return false;
  let url;
  try {
    url = new URL(decodeURIComponent(match[1]), location.href);
  } catch (error) {
    return false;
  }
  if (url.origin !== location.origin) {
    show(`the link names a credential on another site (${url.origin}); only ${location.origin} is fetched`);
    return true;
  }
  const name = url.pathname.split('/').pop();
  document.getElementById('credential-name').textContent = name;
  try {
    const response = await fetch(url, {cache: 'no-store'});
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state.credential = {name, text: await response.text()};
  } catch (error) {
    show(`the credential ${url.href} could not be fetched (${error.message}); drop the file instead`);
    return true;
  }
  await run();
  return true;
}

function show(reason) {
  render({state: 'invalid', verdict: 'INVALID', reasons: [reason], notes: [], summary: null});
  document.getElementById('verdict').dataset.run = String(++state.run);
}

async function start() {
  wire('credential');
  wire('status');
  document.getElementById('verdict').dataset.state = 'ready';
  await fromLink();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
