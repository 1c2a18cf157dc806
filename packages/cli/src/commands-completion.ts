import type { Command, Option } from 'commander';
import { type Cli, offline } from './cli.js';
import { CliError } from './errors.js';

interface Node {
  path: string[];
  commands: Array<{ name: string; description: string }>;
  options: Option[];
}

/** Every command path with its subcommands and options (global ones included). */
function walk(program: Command): Node[] {
  const globals = program.options as Option[];
  const nodes: Node[] = [];
  const visit = (cmd: Command, path: string[]) => {
    const subs = cmd.commands.filter((c) => c.name() !== 'help');
    nodes.push({
      path,
      commands: subs.map((c) => ({ name: c.name(), description: c.description() })),
      options: path.length ? [...(cmd.options as Option[]), ...globals] : globals,
    });
    for (const s of subs) visit(s, [...path, s.name()]);
  };
  visit(program, []);
  return nodes;
}

const flagsOf = (o: Option) => [o.short, o.long].filter((f): f is string => Boolean(f));

function bash(program: Command): string {
  const cases = walk(program)
    .map((n) => {
      const words = [...n.commands.map((c) => c.name), ...n.options.flatMap(flagsOf)].join(' ');
      return `    "${n.path.join(' ')}") words="${words}" ;;`;
    })
    .join('\n');
  return `# borealis completion for bash: source <(borealis completion bash)
_borealis() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      -o|--output|--url|--token|-f|--file|-e|--env) ((i++)); continue ;;
      -*) continue ;;
    esac
    path="\${path:+$path }$w"
  done
  local words=""
  case "$path" in
${cases}
  esac
  case "\${COMP_WORDS[COMP_CWORD-1]}" in
    -o|--output) words="table json yaml" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _borealis borealis
`;
}

function zsh(program: Command): string {
  return `#compdef borealis
# borealis completion for zsh: source <(borealis completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(program).split('\n').slice(1).join('\n')}`;
}

function fish(program: Command): string {
  const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = [
    '# borealis completion for fish: borealis completion fish | source',
    'complete -c borealis -f',
  ];
  for (const n of walk(program)) {
    const cond =
      n.path.length === 0
        ? '__fish_use_subcommand'
        : `__fish_seen_subcommand_from ${n.path[n.path.length - 1]}${n.path.length > 1 ? `; and __fish_seen_subcommand_from ${n.path[0]}` : ''}`;
    for (const c of n.commands)
      lines.push(`complete -c borealis -n ${q(cond)} -a ${q(c.name)} -d ${q(c.description.slice(0, 60))}`);
  }
  for (const o of program.options as Option[]) {
    const parts = ['complete -c borealis'];
    if (o.short) parts.push(`-s ${o.short.slice(1)}`);
    if (o.long) parts.push(`-l ${o.long.slice(2)}`);
    if (o.required) parts.push('-r');
    if (o.long === '--output') parts.push("-a 'table json yaml'");
    parts.push(`-d ${q(o.description)}`);
    lines.push(parts.join(' '));
  }
  return `${lines.join('\n')}\n`;
}

/** `completion bash|zsh|fish`: a script generated from the command tree, so it never lags behind. */
export function registerCompletionCommand(program: Command, cli: Cli): void {
  offline(
    program
      .command('completion <shell>')
      .description(
        'print a shell completion script: bash, zsh or fish (e.g. source <(borealis completion bash))',
      )
      .action(
        cli.run((ctx, shell: string) => {
          const make = { bash, zsh, fish }[shell as 'bash'];
          if (!make) throw new CliError(`completion ${shell}: use bash, zsh or fish`, 2);
          ctx.out(make(program).trimEnd());
        }),
      ),
  );
}
