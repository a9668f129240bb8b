/**
 * Captures the EVALSHA arguments that a StateManager call sends on `manager`'s command
 * connection, so a bench can replay the same script with raw ioredis and no wrapper.
 */
export async function captureEvalsha(manager, call) {
  const connection = manager.getConnection();
  const original = connection.evalsha;
  let captured;
  connection.evalsha = function (...args) {
    captured ??= args;
    return original.apply(this, args);
  };
  try {
    await call();
  } finally {
    delete connection.evalsha;
  }
  return captured;
}
