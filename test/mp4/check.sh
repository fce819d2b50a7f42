#!/bin/sh
# The fMP4 muxer against real tools: ffmpeg makes FLV files (lavfi
# testsrc2 + sine), flv2fmp4 (built here with ASan/UBSan) turns each into
# init + ~200 ms fragments, then ffmpeg must decode the result without a
# message, ffprobe must count the same frames and timestamps as in the
# FLV, and mp4box.js must parse it with the expected tracks and codecs.
#
#   test/mp4/check.sh [BUILD]      (make unit runs it; CC from the env)
#
# Prints "N passed, M failed"; exits 1 if anything failed.

set -u

BUILD=${1:-build}
CC=${CC:-cc}
DIR=$(cd "$(dirname "$0")" && pwd)
CORE=$DIR/../../ngx_ws_stream_module/core
OUT=$BUILD/mp4
TOOL=$BUILD/flv2fmp4

passed=0
failed=0

ok() {
    passed=$((passed + 1))
    echo "ok: $*"
}

bad() {
    failed=$((failed + 1))
    echo "FAILED: $*"
}

check() {   # what, then a test(1) expression
    what=$1
    shift

    if [ "$@" ]; then
        ok "$what"
    else
        bad "$what"
    fi
}

mkdir -p "$OUT"

$CC -std=gnu99 -g -O1 -Wall -Wextra -Werror \
    -fsanitize=address,undefined -fno-sanitize-recover=all \
    -I"$CORE" "$DIR/flv2fmp4.c" "$CORE"/ws_stream_mp4*.c \
    "$CORE/ws_stream_flv.c" "$CORE/ws_stream_sps.c" -o "$TOOL" \
    || { echo "FAILED: build flv2fmp4"; echo "0 passed, 1 failed"; exit 1; }


# the timestamps of a stream, one packet a line: video "pts,dts,flags" as
# ffprobe prints them (K for a key frame); audio rounded to milliseconds
# (the FLV's unit: the MP4 has them at the sample rate)

stamps() {  # file, v|a
    if [ "$2" = v ]; then
        ffprobe -v error -select_streams v:0 \
            -show_entries packet=pts_time,dts_time,flags -of csv=p=0 "$1"
    else
        ffprobe -v error -select_streams a:0 \
            -show_entries packet=pts_time -of csv=p=0 "$1" \
            | awk '{ printf "%.3f\n", $1 }'
    fi
}

# composition times in ticks, one packet a line: ffmpeg's mov demuxer
# restarts each fragment at its tfdt, mp4box.js adds up the trun sample
# durations from the first tfdt on, so the lists differ at the first join
# with a gap or an overlap

ticks() {   # v|a, file
    ffprobe -v error -select_streams $1:0 -show_entries packet=pts \
        -of csv=p=0 "$2"
}

count() {   # file, v|a
    if [ "$2" = v ]; then
        ffprobe -v error -select_streams v:0 -count_frames \
            -show_entries stream=nb_read_frames -of csv=p=0 "$1"
    else
        ffprobe -v error -select_streams a:0 -count_packets \
            -show_entries stream=nb_read_packets -of csv=p=0 "$1"
    fi
}


# name, expected video codec prefix or "-", audio prefix or "-", then the
# ffmpeg output options

variant() {
    name=$1
    vwant=$2
    awant=$3
    shift 3

    flv=$OUT/$name.flv
    mp4=$OUT/$name.mp4

    if ! ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=30 \
            -f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 \
            "$@" -f flv "$flv" > "$OUT/$name.ffmpeg.log" 2>&1
    then
        bad "$name: ffmpeg could not make the FLV" \
            "($(tail -1 "$OUT/$name.ffmpeg.log"))"
        return
    fi

    if ! "$TOOL" "$flv" "$mp4" > "$OUT/$name.tool" 2> "$OUT/$name.err"; then
        bad "$name: flv2fmp4: $(cat "$OUT/$name.err")"
        return
    fi

    vcodec=$(sed -n 's/^video_codec=//p' "$OUT/$name.tool")
    acodec=$(sed -n 's/^audio_codec=//p' "$OUT/$name.tool")
    frags=$(sed -n 's/^fragments=//p' "$OUT/$name.tool")

    check "$name: $frags fragments of ~200 ms" "$frags" -gt 10

    errors=$(ffmpeg -v error -i "$mp4" -f null - 2>&1)
    check "$name: ffmpeg decodes it without a message" \
        "$?" = 0 -a -z "$errors"
    [ -n "$errors" ] && echo "$errors" | head -5

    summary=$(node "$DIR/mp4box.mjs" "$mp4" "$OUT/$name" 2>&1)
    check "$name: mp4box.js parses it" "$?" = 0
    echo "$summary" | sed 's/^/    mp4box.js: /'

    for t in v a; do
        if [ $t = v ]; then
            want=$vwant kind=video codec=$vcodec
        else
            want=$awant kind=audio codec=$acodec
        fi

        line=$(echo "$summary" | grep "^$kind ")

        if [ "$want" = - ]; then
            check "$name: no $kind track" -z "$line"
            continue
        fi

        n_flv=$(count "$flv" $t)
        n_mp4=$(count "$mp4" $t)
        label=$([ $t = v ] && echo "video frames" || echo "audio packets")

        check "$name: $label: FLV $n_flv, MP4 $n_mp4" \
            "$n_flv" -gt 0 -a "$n_flv" = "$n_mp4"

        stamps "$flv" $t > "$OUT/$name.$t.flv.txt"
        stamps "$mp4" $t > "$OUT/$name.$t.mp4.txt"

        if [ $t = v ]; then
            first=$(head -1 "$OUT/$name.v.mp4.txt" | cut -d, -f1)
            last=$(tail -1 "$OUT/$name.v.mp4.txt" | cut -d, -f1)
            label="video pts/dts/key of every frame as in the FLV (first pts"
            label="$label $first, last $last)"
        else
            label="audio pts of every packet as in the FLV (to the ms)"
        fi

        check "$name: $label" -s "$OUT/$name.$t.flv.txt" -a \
            "$(cmp -s "$OUT/$name.$t.flv.txt" "$OUT/$name.$t.mp4.txt" \
               && echo same)" = same

        ticks $t "$mp4" > "$OUT/$name.$t.ticks.txt"
        label="$kind: mp4box.js (trun durations) and ffmpeg (tfdt) agree"
        check "$name: $label on every composition time" \
            "$(cmp -s "$OUT/$name.$t.ticks.txt" "$OUT/$name.$t.box.txt" \
               && echo same)" = same

        # the sync samples mp4box.js sees are the FLV's key frames

        ffprobe -v error -select_streams $t:0 -show_entries packet=flags \
            -of csv=p=0 "$flv" | sed 's/^K.*/1/; s/^[^1].*/0/' \
            > "$OUT/$name.$t.key.txt"
        keys=$(grep -c 1 "$OUT/$name.$t.key.txt")
        check "$name: $kind: mp4box.js sync samples are the $keys key frames" \
            "$(cmp -s "$OUT/$name.$t.key.txt" "$OUT/$name.$t.sync.txt" \
               && echo same)" = same

        # mp4box.js: the codec string the FLV parser derived, the sample
        # count ffprobe saw

        set -- $line
        check "$name: mp4box.js $kind codec ${2:-none} is $codec ($want*)" \
            "${2:-}" = "$codec" -a \
            "$(echo "$codec" | grep -c "^$want")" = 1
        check "$name: mp4box.js $kind samples ${3:-none}" \
            "${3:-}" = "$n_mp4"
    done
}


variant avc-aac avc1.64 mp4a.40.2 \
    -c:v libx264 -g 30 -bf 0 -pix_fmt yuv420p -c:a aac -ac 2

variant avc-bframes-aac48k avc1.64 mp4a.40.2 \
    -c:v libx264 -g 30 -bf 2 -pix_fmt yuv420p -c:a aac -ar 48000 -ac 1

variant avc-only avc1.42 - \
    -c:v libx264 -profile:v baseline -g 15 -pix_fmt yuv420p -an

variant aac-only - mp4a.40.2 -vn -c:a aac -ar 22050

if ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libmp3lame '; then
    variant avc-mp3 avc1.64 mp4a.6b \
        -c:v libx264 -g 30 -bf 0 -pix_fmt yuv420p -c:a libmp3lame -ac 2
else
    echo "skipped: avc-mp3: ffmpeg has no libmp3lame encoder"
fi

# HEVC in FLV needs an ffmpeg with enhanced RTMP (6.1 and later)

if ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=30 -t 0.2 \
        -c:v libx265 -x265-params log-level=error -f flv "$OUT/hevc.flv" \
        > "$OUT/hevc.ffmpeg.log" 2>&1
then
    echo "skipped: hevc: ffmpeg wrote HEVC into FLV, but flv2fmp4 reads" \
         "legacy tags only"
else
    echo "skipped: hevc: this ffmpeg cannot put HEVC into FLV" \
         "($(grep -m1 -i 'flv' "$OUT/hevc.ffmpeg.log" \
             || tail -1 "$OUT/hevc.ffmpeg.log"))"
fi

echo "$passed passed, $failed failed"

[ "$failed" = 0 ]
