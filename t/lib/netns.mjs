// A network namespace joined to this host by a veth pair, for viewers
// behind a slow link: the host side's egress (server -> viewer) gets a tc
// token bucket. Made and removed by the test (root only).
import { spawnSync, spawn } from 'node:child_process';

function sh(args, { ns = null, check = true } = {}) {
  const argv = ns ? ['netns', 'exec', ns, ...args] : args;
  const cmd = ns ? 'ip' : args[0];
  const r = spawnSync(cmd, ns ? argv : args.slice(1), { encoding: 'utf8', timeout: 10000 });
  if (check && r.status !== 0) throw new Error(`${[cmd, ...(ns ? argv : args.slice(1))].join(' ')}: ${r.stderr || r.error}`);
  return r;
}

let n = 0;

// A 10.251.x.0/24 that no interface of this host has yet, from `first` on:
// other tests or benchmarks may have namespaces of their own meanwhile, and a
// second route to the same /24 takes the traffic of one of them.
function freeNet(first) {
  const addrs = sh(['ip', '-o', '-4', 'addr', 'show']).stdout || '';
  for (let k = 0; k < 200; k++) {
    const net = 10 + ((first + k) % 200);
    if (!addrs.includes(` 10.251.${net}.`)) return net;
  }
  throw new Error('no free 10.251.x.0/24 for a network namespace');
}

export function makeNetns(tag = 'n') {
  if (process.getuid && process.getuid() !== 0) throw new Error('network namespaces need root');
  const id = `${tag}${process.pid % 100000}x${++n}`;
  const ns = `wst-${id}`, host = `wh${id}`.slice(0, 15), peer = `wp${id}`.slice(0, 15);
  const net = freeNet(process.pid + n);
  const hostIp = `10.251.${net}.1`, nsIp = `10.251.${net}.2`;
  sh(['ip', 'netns', 'add', ns]);
  const env = {
    ns, host, hostIp, nsIp,
    limit(rate, { burst = '16kb', latency = '200ms' } = {}) {
      sh(['tc', 'qdisc', 'replace', 'dev', host, 'root', 'tbf', 'rate', rate, 'burst', burst, 'latency', latency]);
    },
    unlimit() { sh(['tc', 'qdisc', 'del', 'dev', host, 'root'], { check: false }); },
    spawn(cmd, args, opts = {}) { return spawn('ip', ['netns', 'exec', ns, cmd, ...args], opts); },
    remove() {
      sh(['ip', 'link', 'del', host], { check: false });
      sh(['ip', 'netns', 'del', ns], { check: false });
    },
  };
  try {
    sh(['ip', 'link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    sh(['ip', 'link', 'set', peer, 'netns', ns]);
    sh(['ip', 'addr', 'add', `${hostIp}/24`, 'dev', host]);
    sh(['ip', 'link', 'set', host, 'up']);
    sh(['ip', 'addr', 'add', `${nsIp}/24`, 'dev', peer], { ns });
    sh(['ip', 'link', 'set', peer, 'up'], { ns });
    sh(['ip', 'link', 'set', 'lo', 'up'], { ns });
  } catch (e) {
    env.remove();
    throw e;
  }
  return env;
}

// Run a node script inside the namespace for about `seconds`; resolves to
// the JSON of the last line it prints (killed 15 s after the time).
export function runJson(net, script, args, seconds) {
  return new Promise((resolve, reject) => {
    const p = net.spawn(process.execPath, [script, ...args.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => p.kill('SIGKILL'), (seconds + 15) * 1000);
    p.on('exit', (code) => {
      clearTimeout(t);
      try { resolve(JSON.parse(out.trim().split('\n').pop())); } catch { reject(new Error(`${script} exited ${code}: ${out} ${err}`)); }
    });
  });
}
