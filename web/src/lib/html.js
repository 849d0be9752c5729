// htm bound to Preact's h: tagged templates instead of JSX, so the source runs as-is in the
// browser and esbuild needs no JSX transform.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
