export { type AcceptorConfig, loadAcceptorConfig } from './config.js';
export { type Acceptor, type AcceptorOverrides, createAcceptor } from './create-acceptor.js';
export { AcceptorError, type AcceptorErrorKind } from './errors.js';
export { type ExportOutcome, ExportPipeline } from './export-pipeline.js';
export { REPLY_STATUS } from './reply-status.js';
export { ACCEPTOR_USAGE, runAcceptorProcess } from './run.js';
export { acceptorSettings } from './settings.js';
