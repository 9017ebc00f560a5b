/**
 * Lays out one frame: header, tab bar, the panes or a dialog in their place, status line, prompt. The frame builder
 * has already cut every line to the width and styled it, so each line reaches Ink's output as it is.
 */
import { Box, Text, Transform } from 'ink';
import { memo } from 'react';
import type { Frame, PaneFrame } from '../model/frame.js';
import { MIN_COLS, MIN_ROWS } from '../model/layout.js';

/**
 * One screen line. Ink measures (and caches forever, keyed by the text) every Text's content for layout, which costs
 * a Unicode segmentation per styled line per frame and grows without bound as lines change. The content here is a
 * constant one-column placeholder that Ink measures once; the real line replaces it at output time.
 */
const Line = memo(function Line({ text }: { readonly text: string }) {
  return <Transform transform={() => text}>{' '}</Transform>;
});

const Pane = memo(function Pane({ pane }: { readonly pane: PaneFrame }) {
  const lines = pane.lines.slice(0, Math.max(0, pane.height - 1));
  return (
    <Box flexDirection="column" height={pane.height}>
      <Line text={pane.title} />
      {lines.map((l, i) => (
        <Line key={i} text={l} />
      ))}
    </Box>
  );
});

function Dialog({ overlay }: { readonly overlay: NonNullable<Frame['overlay']> }) {
  // Border (2 lines), title and footer leave this many lines for the content.
  const room = Math.max(0, overlay.height - 4);
  return (
    <Box flexDirection="column" height={overlay.height} borderStyle="round" paddingX={1}>
      <Line text={overlay.title} />
      <Box flexDirection="column" height={room}>
        {overlay.lines.slice(0, room).map((l, i) => (
          <Line key={i} text={l} />
        ))}
      </Box>
      <Line text={overlay.footer} />
    </Box>
  );
}

export function Screen({ frame }: { readonly frame: Frame }) {
  const { layout } = frame;
  if (layout.kind === 'too-small') {
    return (
      <Text wrap="truncate">{`terminal ${layout.cols}x${layout.rows} is too small: goverse-top needs ${MIN_COLS}x${MIN_ROWS} (q quits)`}</Text>
    );
  }
  return (
    <Box flexDirection="column" width={layout.cols} height={layout.height}>
      {frame.header.map((l, i) => (
        <Line key={`h${i}`} text={l} />
      ))}
      <Line text={frame.tabs} />
      {frame.overlay !== null ? <Dialog overlay={frame.overlay} /> : frame.panes.map((p) => <Pane key={p.pane} pane={p} />)}
      <Line text={frame.status} />
      <Line text={frame.prompt} />
    </Box>
  );
}
