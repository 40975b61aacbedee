// The baseline a user would script instead of the bot:
//   kubectl get events -A --watch -o json | node baseline-matcher.mjs INITIAL TARGET
// It splits kubectl's stream of pretty-printed JSON objects, parses each, and matches sandbox failures
// with a regular expression. Prints READY once the initial list is read and DONE <epoch ms> once TARGET
// matching events arrived after it. Plain JavaScript on purpose: this is the "simple script" being compared.
const initial = Number(process.argv[2]);
const target = Number(process.argv[3]);
const pattern =
  /no IP addresses available|subnet\.env|failed to find plugin|already has an IP address different/i;

let buffer = '';
let depth = 0;
let inString = false;
let escaped = false;
let start = -1;
let seen = 0;
let matched = 0;
let ready = false;

function onObject(text) {
  const obj = JSON.parse(text);
  // kubectl prints the initial list page by page (500 items each) as `...List` objects when it spans
  // several pages, and single objects otherwise.
  if (Array.isArray(obj.items)) for (const item of obj.items) onEvent(item);
  else onEvent(obj);
}

function onEvent(obj) {
  seen++;
  if (!ready) {
    if (seen >= initial) {
      ready = true;
      process.stdout.write('READY\n');
    }
    return;
  }
  if (obj.reason === 'FailedCreatePodSandBox' && pattern.test(obj.message ?? '')) matched++;
  if (matched >= target) {
    process.stdout.write(`DONE ${Date.now()}\n`);
    process.exit(0);
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const offset = buffer.length;
  buffer += chunk;
  let consumed = 0;
  for (let i = offset; i < buffer.length; i++) {
    const c = buffer[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) {
      onObject(buffer.slice(start, i + 1));
      consumed = i + 1;
    }
  }
  // Keep only the unfinished object (its start moves with the cut).
  buffer = buffer.slice(consumed);
  start -= consumed;
});
if (initial === 0) {
  ready = true;
  process.stdout.write('READY\n');
}
