// Error type shared by all player modules.

/** Error codes carried by {@link WsStreamError#code}. */
export const ErrorCodes = Object.freeze({
  NETWORK: 'NETWORK',
  PROTOCOL: 'PROTOCOL',
  DEMUX: 'DEMUX',
  REMUX: 'REMUX',
  MSE_UNSUPPORTED: 'MSE_UNSUPPORTED',
  MSE_APPEND: 'MSE_APPEND',
  CODEC_UNSUPPORTED: 'CODEC_UNSUPPORTED',
  QUOTA: 'QUOTA',
  MEDIA: 'MEDIA',
  SWITCH_FAILED: 'SWITCH_FAILED',
});

/**
 * Player error with a machine-readable code.
 * @property {string} code one of {@link ErrorCodes}
 * @property {boolean} fatal true when playback cannot continue
 */
export class WsStreamError extends Error {
  /**
   * @param {string} code one of ErrorCodes
   * @param {string} message
   * @param {{fatal?: boolean, cause?: unknown}} [options]
   */
  constructor(code, message, { fatal = false, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'WsStreamError';
    this.code = code;
    this.fatal = fatal;
  }
}
