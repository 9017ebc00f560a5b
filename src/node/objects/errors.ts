import { GoverseError, InvalidArgumentError, NotFoundError, NotOwnerError } from '../../core/errors.js';

/** No object type of this name is registered on the node. */
export class UnknownObjectTypeError extends NotFoundError {
  constructor(readonly typeName: string) {
    super(`unknown object type ${JSON.stringify(typeName)}`);
  }
}

/** The object type has no method of this name. */
export class UnknownMethodError extends NotFoundError {
  constructor(
    readonly typeName: string,
    readonly method: string,
  ) {
    super(`object type ${typeName} has no method ${JSON.stringify(method)}`);
  }
}

/**
 * The node refuses to activate objects (graceful shutdown or drain). Retriable: the shard will be served elsewhere.
 * Objects that are already active keep serving.
 */
export class ActivationRefusedError extends NotOwnerError {
  constructor(
    readonly typeName: string,
    readonly objectId: string,
    shardId: number | null,
  ) {
    super(`${typeName}/${objectId}: this node is not activating new objects (shutting down or draining)`, shardId);
  }
}

/** A method argument is missing, unexpected or of the wrong kind. */
export class InvalidMethodArgumentError extends InvalidArgumentError {
  constructor(
    readonly argument: string,
    problem: string,
  ) {
    super(`argument ${JSON.stringify(argument)} ${problem}`);
  }
}

/** A creation or a call would make an object's state larger than its type allows (HTTP 400, `state_too_large`). */
export class StateTooLargeError extends GoverseError {
  constructor(
    readonly typeName: string,
    readonly sizeBytes: number,
    readonly limitBytes: number,
    setting: string,
  ) {
    super('state_too_large', `${typeName} state would be ${sizeBytes} bytes, more than the limit of ${limitBytes} bytes (${setting})`);
  }
}
