export { fromServiceError, REASON_TRAILER, toGrpcStatus, toServiceError } from './grpc.js';
export { type ErrorDetails, isMeshError, MeshError } from './mesh-error.js';
export { type PublicError, publicError } from './public-error.js';
export { ERROR_CODES, ERROR_REGISTRY, type ErrorCode } from './registry.js';
export { grpcStatusName, renderErrorsMarkdown } from './render-docs.js';
