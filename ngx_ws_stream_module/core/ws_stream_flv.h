
/*
 * Copyright (C) ngx_ws_stream authors
 *
 * FLV audio/video tag body parsing (the payload of RTMP messages 8 and 9):
 * legacy AVC and AAC/MP3 headers, enhanced RTMP (ExVideoTagHeader) for
 * avc1/hvc1, AVC/HEVC decoder configuration records (SPS parsing is in
 * ws_stream_sps.c), AudioSpecificConfig.
 */


#ifndef _WS_STREAM_FLV_H_INCLUDED_
#define _WS_STREAM_FLV_H_INCLUDED_


#include "ws_stream_core.h"


/* FLV codec ids */
#define WS_STREAM_CODEC_AVC     7
#define WS_STREAM_CODEC_HEVC    12
#define WS_STREAM_CODEC_MP3     2
#define WS_STREAM_CODEC_AAC     10

#define WS_STREAM_FLV_PEEK      16


typedef struct {
    uint8_t          track;         /* WS_STREAM_TRACK_VIDEO or AUDIO */
    uint8_t          flags;         /* WS_STREAM_FLAG_KEY, _CONFIG */
    uint8_t          codec;         /* WS_STREAM_CODEC_* */
    uint8_t          end;           /* video: end of sequence packet */
    int32_t          cts;           /* video: composition offset, ms */
    uint32_t         data;          /* offset of the coded data (or of
                                       the configuration record) in the
                                       tag body */

    /* set for sequence headers (FLAG_CONFIG) where the data tells */
    uint32_t         width;         /* video, from the SPS; 0 unknown */
    uint32_t         height;
    uint32_t         sample_rate;   /* audio, Hz */
    uint32_t         channels;      /* audio */
    char             codec_string[32];  /* RFC 6381: "avc1.64001f",
                                           "mp4a.40.2", "mp4a.6b" */

    const char      *error;         /* why WS_STREAM_ERROR */
} ws_stream_flv_info_t;


/*
 * Both return WS_STREAM_OK with info filled, or WS_STREAM_ERROR
 * with info->error set to a short static sentence (truncated tag,
 * unsupported codec, malformed configuration record).  They never read
 * past p + len.
 *
 * Of a message that is not a sequence header (no FLAG_CONFIG in the
 * result) they read at most the first WS_STREAM_FLV_PEEK bytes, so a
 * caller whose message is scattered may parse just those first and
 * gather the whole message only for a sequence header.
 */
int ws_stream_flv_parse_video(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info);
int ws_stream_flv_parse_audio(const uint8_t *p, size_t len,
    ws_stream_flv_info_t *info);


#endif /* _WS_STREAM_FLV_H_INCLUDED_ */
