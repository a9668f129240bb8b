/** For promises whose failure is expected and handled elsewhere (best-effort cleanup, racing timers): `.catch(ignore)`. */
export const ignore = (): undefined => undefined;
