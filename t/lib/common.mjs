// Config snippets shared by the test files.
export function liveConf(p, { workers = 1, zone = 'zone=live:16m', app = '', loc = '', listen = '',
  http = '', server = '', rtmp = '', main = '' } = {}) {
  const zoneName = (zone.match(/zone=([^:\s]+)/) || [])[1] || 'live';
  return {
    workers,
    main,
    rtmp: `    server {
        listen 127.0.0.1:${p.rtmp};
        application live { live on; ws_stream ${zoneName}; ${app} }
        application other { live on; }
        ${rtmp}
    }`,
    http: `    ws_stream_zone ${zone};
    ${http}
    server {
        listen 127.0.0.1:${p.http}${listen ? ' ' + listen : ''};
        location /ws/ { ws_stream; ${loc} }
        ${server}
    }`,
  };
}

let n = 0;
export const streamName = (base = 's') => `${base}${process.pid}x${++n}`;
