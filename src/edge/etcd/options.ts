import type { GoverseConfig } from '../../core/config/settings.js';
import type { Logger } from '../../core/log/logger.js';
import type { EtcdClientOptions } from './client.js';

/** etcd connection options from the resolved configuration (the resolver already split `user:password`). */
export function etcdOptionsFromConfig(config: GoverseConfig, logger?: Logger): EtcdClientOptions {
  return {
    endpoints: config.etcdEndpoints,
    dialTimeoutMs: config.etcdTimeout,
    callTimeoutMs: config.etcdTimeout,
    ...(config.etcdCaFile === ''
      ? {}
      : {
          tls: {
            caFile: config.etcdCaFile,
            ...(config.etcdCertFile === '' ? {} : { certFile: config.etcdCertFile }),
            ...(config.etcdKeyFile === '' ? {} : { keyFile: config.etcdKeyFile }),
          },
        }),
    ...(config.etcdUser === '' ? {} : { auth: { username: config.etcdUser, password: config.etcdPassword } }),
    ...(logger ? { logger } : {}),
  };
}
