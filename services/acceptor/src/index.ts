export { type Acceptor, type AcceptorOverrides, createAcceptor } from './create-acceptor.js';
export { type AcceptorConfig, loadAcceptorConfig } from './config.js';
export { AcceptorError, type AcceptorErrorKind } from './errors.js';
export { ExportPipeline, type ExportOutcome } from './export-pipeline.js';
export { acceptorSettings } from './settings.js';
export { REPLY_STATUS } from './reply-status.js';
export { ACCEPTOR_USAGE, runAcceptorProcess } from './run.js';
