export { type Decoder, decodeMessage } from './decode.js';
export { pageSize, requireEnum, requireList, requireMessage, requireString } from './require.js';
