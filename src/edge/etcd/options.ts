import type { GoverseConfig } from '../../core/config/settings.js';
import type { Logger } from '../../core/log/logger.js';
import type { EtcdClientOptions } from './client.js';

/** etcd connection options from the resolved configuration (`--user` may be `user` or `user:password`). */
export function etcdOptionsFromConfig(config: GoverseConfig, logger?: Logger): EtcdClientOptions {
  const colon = config.etcdUser.indexOf(':');
  const username = colon >= 0 ? config.etcdUser.slice(0, colon) : config.etcdUser;
  const password = colon >= 0 ? config.etcdUser.slice(colon + 1) : config.etcdPassword;
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
    ...(username === '' ? {} : { auth: { username, password } }),
    ...(logger ? { logger } : {}),
  };
}
