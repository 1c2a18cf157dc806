/**
 * Where and why a text is not JSON. `JSON.parse` decides validity; its messages differ between
 * Node versions and do not always carry a position, so this scanner finds the offending offset
 * itself. Iterative (an explicit stack), so a deeply nested body cannot overflow the call stack.
 */
export interface JsonProblem {
  offset: number;
  expected: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

export function findJsonProblem(text: string): JsonProblem | undefined {
  type State = 'value' | 'valueOrEnd' | 'key' | 'keyOrEnd' | 'colon' | 'commaOrEnd' | 'done';
  const stack: Array<'{' | '['> = [];
  let state: State = 'value';
  let i = 0;
  const after = (): State => (stack.length > 0 ? 'commaOrEnd' : 'done');
  const fail = (expected: string): JsonProblem => ({ offset: i, expected });
  const readString = (): JsonProblem | undefined => {
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return fail('a closing " (control characters must be escaped inside strings)');
      if (c === 0x5c) {
        ESCAPE.lastIndex = i;
        if (!ESCAPE.test(text)) return fail('a valid escape such as \\" or \\n');
        i = ESCAPE.lastIndex;
      } else i++;
    }
    return fail('a closing "');
  };
  for (;;) {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
    if (i >= text.length)
      return state === 'done'
        ? undefined
        : fail(stack.length > 0 ? `a closing ${stack[stack.length - 1] === '{' ? '}' : ']'}` : 'a value');
    const c = text[i]!;
    switch (state) {
      case 'done':
        return fail('the end of the document');
      case 'valueOrEnd':
      case 'value': {
        if (state === 'valueOrEnd' && c === ']') {
          i++;
          stack.pop();
          state = after();
        } else if (c === '{') {
          stack.push('{');
          i++;
          state = 'keyOrEnd';
        } else if (c === '[') {
          stack.push('[');
          i++;
          state = 'valueOrEnd';
        } else if (c === '"') {
          const problem = readString();
          if (problem) return problem;
          state = after();
        } else {
          NUMBER.lastIndex = i;
          LITERAL.lastIndex = i;
          if (NUMBER.test(text)) i = NUMBER.lastIndex;
          else if (LITERAL.test(text)) i = LITERAL.lastIndex;
          else return fail('a value (a "quoted string", a number, true, false, null, { or [)');
          state = after();
        }
        break;
      }
      case 'keyOrEnd':
      case 'key':
        if (state === 'keyOrEnd' && c === '}') {
          i++;
          stack.pop();
          state = after();
        } else if (c === '"') {
          const problem = readString();
          if (problem) return problem;
          state = 'colon';
        } else
          return fail(
            state === 'key' ? 'a "quoted" key (is there a trailing comma?)' : 'a "quoted" key or }',
          );
        break;
      case 'colon':
        if (c !== ':') return fail('a :');
        i++;
        state = 'value';
        break;
      case 'commaOrEnd': {
        const close = stack[stack.length - 1] === '{' ? '}' : ']';
        if (c === ',') {
          i++;
          state = close === '}' ? 'key' : 'value';
        } else if (c === close) {
          i++;
          stack.pop();
          state = after();
        } else return fail(`a , or ${close}`);
        break;
      }
    }
  }
}
