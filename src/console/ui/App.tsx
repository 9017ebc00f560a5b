/**
 * The Ink root: subscribes to the controller's frames (one commit per frame) and forwards key presses. Keys are
 * read only when stdin is a terminal in raw mode; otherwise Ink's useInput would throw, and the console is a
 * read-only view that quits on a signal.
 */
import { useInput, useStdin } from 'ink';
import { useSyncExternalStore } from 'react';
import type { ConsoleController } from '../controller.js';
import { Screen } from './Screen.js';

export function App({ controller }: { readonly controller: ConsoleController }) {
  const frame = useSyncExternalStore(controller.subscribe, controller.getFrame);
  const { isRawModeSupported } = useStdin();
  useInput(controller.onKey, { isActive: isRawModeSupported === true });
  return <Screen frame={frame} />;
}
