// node test/mp4/mp4box.mjs FILE.mp4 [PREFIX]: parse a fragmented MP4 with
// mp4box.js (GPAC's JavaScript parser) and print one line per track:
//   <type> <codec> <samples> <timescale>
// with the samples counted from the fragments.  With PREFIX, writes the
// composition time of every sample, in ticks, to PREFIX.v.box.txt and
// PREFIX.a.box.txt, and 1 for a sync sample, 0 for another, to
// PREFIX.v.sync.txt and PREFIX.a.sync.txt.  Exits 1 on a parse error.

import { readFileSync, writeFileSync } from 'node:fs';
import { createFile, MP4BoxBuffer } from 'mp4box';

const data = readFileSync(process.argv[2]);
const file = createFile();
const counts = new Map();
const times = new Map();
const syncs = new Map();
let info = null;
let error = null;

file.onError = (module, message) => {
    error = `${module}: ${message}`;
};

file.onReady = (movie) => {
    info = movie;

    for (const track of movie.tracks) {
        counts.set(track.id, 0);
        times.set(track.id, []);
        syncs.set(track.id, []);
        file.setExtractionOptions(track.id, null, { nbSamples: 1000 });
    }

    file.start();
};

file.onSamples = (id, user, samples) => {
    counts.set(id, counts.get(id) + samples.length);
    times.get(id).push(...samples.map((sample) => sample.cts));
    syncs.get(id).push(...samples.map((sample) => (sample.is_sync ? 1 : 0)));
    file.releaseUsedSamples(id, samples[samples.length - 1].number + 1);
};

const ab = data.buffer.slice(data.byteOffset,
                             data.byteOffset + data.byteLength);

file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0), true);
file.flush();

if (error || info === null) {
    console.error(`mp4box.js: ${error || 'no moov'}`);
    process.exit(1);
}

if (!info.isFragmented) {
    console.error('mp4box.js: not a fragmented file');
    process.exit(1);
}

for (const track of info.tracks) {
    console.log(`${track.type} ${track.codec} ${counts.get(track.id)} `
                + `${track.timescale}`);

    if (process.argv[3]) {
        const prefix = `${process.argv[3]}.${track.type[0]}`;
        const lines = (list) => list.map((v) => `${v}\n`).join('');

        writeFileSync(`${prefix}.box.txt`, lines(times.get(track.id)));
        writeFileSync(`${prefix}.sync.txt`, lines(syncs.get(track.id)));
    }
}
