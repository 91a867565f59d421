import type { Terminal } from '../cli/terminal';

/**
 * A terminal for running the CLI in-process: no colours, no one at the keyboard (a prompt is an
 * error), standard input as given, and everything the command says kept, per stream and in order.
 */
export function recordingTerminal(input = '') {
  const out: string[] = [];
  const err: string[] = [];
  const said: string[] = [];
  const terminal: Terminal = {
    interactive: false,
    colour: false,
    out: (text) => {
      out.push(text);
      said.push(text);
    },
    err: (text) => {
      err.push(text);
      said.push(text);
    },
    ask: (question) =>
      Promise.reject(new Error(`the command prompted "${question}"; no one is here to answer`)),
    readAllInput: async () => input,
  };
  return { terminal, out, err, said };
}
