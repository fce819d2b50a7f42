#!/bin/sh
# Makes a benchmark fixture, or checks one.
#
#   fixtures.sh 720p|360p OUT.flv    encode the fixture (30 s, 900 frames)
#   fixtures.sh --check FILE.flv     read the barcode of every frame back,
#                                    print codecs, frame count and bitrates
#
# Picture: testsrc2 with a barcode strip on top (height H/12, 16 blocks
# across the full width; block k < 12 = bit 11-k of the frame index,
# blocks 12..15 = white, black, white, black; white = luma 235, black = 16).
# Sound: a 440 Hz sine. H.264 High, no B-frames, keyframe every 30 frames,
# CBR-ish; AAC-LC 48 kHz stereo. FFMPEG / FFPROBE override the binaries.

set -eu

FFMPEG=${FFMPEG:-ffmpeg}
FFPROBE=${FFPROBE:-ffprobe}
FRAMES=900

usage() {
    echo "usage: $0 720p|360p OUT.flv | --check FILE.flv" >&2
    exit 2
}

check() {
    f=$1
    [ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 1; }
    size=$("$FFPROBE" -v error -select_streams v:0 \
        -show_entries stream=width,height -of csv=p=0 "$f")
    w=${size%,*}
    h=${size#*,}
    "$FFPROBE" -v error -show_entries \
stream=codec_name,profile,width,height,r_frame_rate,pix_fmt,sample_rate,\
channels,has_b_frames \
        -of compact=p=0 "$f"
    # Decoded frames as they are (no frame rate conversion: the video
    # starts 21 ms after the audio, AAC priming). Row at half the strip
    # height, luma only, one line of $w values per frame; sample the
    # centre of each of the 16 blocks.
    "$FFMPEG" -v error -i "$f" -map 0:v:0 \
        -vf "format=gray,crop=iw:1:0:$((h / 24))" \
        -fps_mode passthrough -f rawvideo -pix_fmt gray - |
    od -An -tu1 -v -w"$w" |
    awk -v w="$w" -v frames="$FRAMES" '
        {
            idx = 0; ok = 1
            for (k = 0; k < 16; k++) {
                c = int(k * w / 16 + w / 32) + 1
                bit = ($c > 128) ? 1 : 0
                if (k < 12) idx = idx * 2 + bit
                else if (bit != ((k % 2 == 0) ? 1 : 0)) ok = 0
                if (k < 12 && ($c > 40 && $c < 210)) weak++
            }
            n = NR - 1
            if (!ok || idx >= frames) { bad++; if (bad < 10)
                printf "frame %d: barcode unreadable\n", n }
            else if (idx != n) { bad++; if (bad < 10)
                printf "frame %d: barcode reads %d\n", n, idx }
            if (n == 0 || n == 1 || n == 2 || n == 511 || n == 899)
                printf "frame %d: barcode %d\n", n, ok ? idx : -1
        }
        END {
            printf "%d frames decoded, %d barcode errors, %d weak samples\n",
                NR, bad + 0, weak + 0
            exit (NR == frames && bad == 0) ? 0 : 1
        }' || return 1
    # Bitrates from the packet sizes (FLV has no per-stream bitrate).
    for s in v a; do
        "$FFPROBE" -v error -select_streams "$s:0" \
            -show_entries packet=size,pts_time,flags -of csv=p=0 "$f" |
        awk -F, -v s="$s" '
            { bytes += $2; if ($1 > last) last = $1; n++
              if ($3 ~ /K/) keys++ }
            END { printf "%s: %d packets, %d key, %.1f kbit/s over %.2f s\n",
                      s, n, keys, bytes * 8 / 1000 / last, last }'
    done
    "$FFPROBE" -v error -show_entries format=duration,bit_rate,size \
        -of compact=p=0 "$f"
}

[ $# -eq 2 ] || usage
if [ "$1" = "--check" ]; then
    check "$2"
    exit $?
fi

case $1 in
    720p) W=1280 H=720 VBR=2000k ABR=128k ;;
    360p) W=640 H=360 VBR=600k ABR=96k ;;
    *) usage ;;
esac
OUT=$2
BAR_H=$((H / 12))

# Barcode: geq evaluates the luma per pixel from the frame number N and
# the block number floor(X * 16 / W).
BAR="color=c=black:s=${W}x${BAR_H}:r=30:d=30,format=yuv420p,"
BAR="${BAR}geq=lum='st(0,floor(X*16/W));"
BAR="${BAR}if(lt(ld(0),12),if(mod(floor(N/pow(2,11-ld(0))),2),235,16),"
BAR="${BAR}if(mod(ld(0),2),16,235))':cb=128:cr=128"

rm -f "$OUT.tmp"
"$FFMPEG" -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=s=${W}x${H}:r=30:d=30,format=yuv420p" \
    -f lavfi -i "$BAR" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=30" \
    -filter_complex "[0:v][1:v]overlay=0:0:format=yuv420,format=yuv420p[v]" \
    -map "[v]" -map 2:a \
    -c:v libx264 -profile:v high -preset medium -pix_fmt yuv420p \
    -bf 0 -g 30 -keyint_min 30 -sc_threshold 0 \
    -b:v "$VBR" -maxrate "$VBR" -bufsize "$VBR" \
    -c:a aac -profile:a aac_low -b:a "$ABR" -ar 48000 -ac 2 \
    -t 30 -f flv "$OUT.tmp"
if ! report=$(check "$OUT.tmp" 2>&1); then
    printf '%s\n' "$report" >&2
    echo "$0: $OUT.tmp failed the barcode check" >&2
    exit 1
fi
mv "$OUT.tmp" "$OUT"
