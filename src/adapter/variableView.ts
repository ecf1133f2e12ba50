// How a Delve Variable looks in the Variables view: a one-line value, whether it expands, the
// Go expression that names it (for setVariable, watch and lazy loading) and a memory reference.
import type { Variable } from '../delve/delveTypes';
import { hex } from './addresses';

/** reflect.Kind numbers as Delve sends them. */
export const Kind = {
  Bool: 1,
  Int: 2,
  Uint: 7,
  Uint64: 11,
  Uintptr: 12,
  Float64: 14,
  Complex128: 16,
  Array: 17,
  Chan: 18,
  Func: 19,
  Interface: 20,
  Map: 21,
  Ptr: 22,
  Slice: 23,
  String: 24,
  Struct: 25,
  UnsafePointer: 26,
} as const;

export function isCompound(v: Variable): boolean {
  switch (v.kind) {
    case Kind.Ptr:
      return (v.children?.length > 0 && v.children[0].addr !== 0) || (v.value === '' && v.base !== 0);
    case Kind.Struct:
    case Kind.Array:
    case Kind.Slice:
    case Kind.Map:
      return v.len > 0 || (v.children?.length ?? 0) > 0;
    case Kind.Interface:
      return (v.children?.length ?? 0) > 0 && v.children[0].kind !== 0 && !isNilInterface(v);
    case Kind.Chan:
      return (v.children?.length ?? 0) > 0;
    default:
      return false;
  }
}

function isNilInterface(v: Variable): boolean {
  return v.children.length === 1 && v.children[0].addr === 0 && v.children[0].kind === Kind.Ptr;
}

/** A Delve value that was cut off by the load limits and must be re-read to expand. */
export function needsReload(v: Variable): boolean {
  const kids = v.children?.length ?? 0;
  if (v.kind === Kind.Struct || v.kind === Kind.Map) return kids === 0 && v.len > 0;
  if (v.kind === Kind.Array || v.kind === Kind.Slice) return kids < Math.min(v.len, 64) && v.len > 0 && kids === 0;
  if (v.kind === Kind.Ptr) return kids === 0 && v.base !== 0;
  return false;
}

export function formatValue(v: Variable): string {
  if (v.unreadable) return `(unreadable: ${v.unreadable})`;
  switch (v.kind) {
    case Kind.String: {
      const more = v.len > v.value.length ? `…+${v.len - v.value.length} more` : '';
      return JSON.stringify(v.value) + more;
    }
    case Kind.Ptr: {
      const target = v.children?.[0];
      if (!target && v.base === 0 && (v.value === '' || v.value === '0')) return 'nil';
      const addr = target?.addr ?? v.base;
      if (addr === 0) return 'nil';
      return `(${v.type}) ${hex(addr)}`;
    }
    case Kind.UnsafePointer:
      return `unsafe.Pointer(${hex(v.children?.[0]?.addr ?? v.base ?? 0)})`;
    case Kind.Struct:
      return `${v.type} {${(v.children ?? [])
        .slice(0, 4)
        .map((c) => `${c.name}: ${short(c)}`)
        .join(', ')}${(v.children?.length ?? 0) > 4 || v.len > (v.children?.length ?? 0) ? ', …' : ''}}`;
    case Kind.Slice:
      return v.base === 0 && v.len === 0 ? `${v.type} nil` : `${v.type} len: ${v.len}, cap: ${v.cap}`;
    case Kind.Array:
      return `${v.type} [${(v.children ?? []).slice(0, 8).map(short).join(', ')}${v.len > 8 ? ', …' : ''}]`;
    case Kind.Map:
      return `${v.type} len: ${v.len}`;
    case Kind.Interface: {
      if (!v.children?.length || isNilInterface(v)) return 'nil';
      const inner = v.children[0];
      return `${v.type}(${inner.type}) ${formatValue(inner)}`;
    }
    case Kind.Func:
      return v.value || 'nil';
    case Kind.Chan:
      return v.base === 0 ? `${v.type} nil` : `${v.type} ${v.len}/${v.cap}`;
    case Kind.Uintptr:
      return hexOfDecimal(v.value) ?? v.value;
    default:
      return v.value;
  }
}

/** An unsigned integer that may hold an address (a PC or a pointer saved in a uint64). */
export function isUnsignedInteger(v: Variable): boolean {
  return v.kind >= Kind.Uint && v.kind <= Kind.Uintptr && /^[0-9]+$/.test(v.value);
}

/** `12005266` → `0xb72f92`; undefined when the text is not a non-negative decimal integer. */
export function hexOfDecimal(text: string): string | undefined {
  return /^[0-9]+$/.test(text) ? `0x${BigInt(text).toString(16)}` : undefined;
}

function short(v: Variable): string {
  if (v.kind === Kind.Struct) return `{…}`;
  if (v.kind === Kind.String) return JSON.stringify(v.value.length > 20 ? v.value.slice(0, 20) + '…' : v.value);
  const s = formatValue(v);
  return s.length > 30 ? s.slice(0, 30) + '…' : s;
}

/** The memory a variable's value lives at (for a pointer: where it points). */
export function memoryReferenceOf(v: Variable): string | undefined {
  if (v.kind === Kind.Ptr || v.kind === Kind.UnsafePointer) {
    const a = v.children?.[0]?.addr ?? v.base;
    return a ? hex(a) : undefined;
  }
  return v.addr ? hex(v.addr) : undefined;
}

export interface Child {
  name: string;
  variable: Variable;
  /** Go expression naming the child, when there is one. */
  evaluateName: string | undefined;
}

/** The children of a loaded variable, named as the Variables view shows them. */
export function childrenOf(parent: Variable, parentExpr: string | undefined): Child[] {
  const kids = parent.children ?? [];
  const p = parentExpr === undefined ? undefined : `(${parentExpr})`;
  switch (parent.kind) {
    case Kind.Ptr:
    case Kind.UnsafePointer:
      return kids.map((c) => ({ name: '*' + (parent.name || ''), variable: c, evaluateName: p && `*${p}` }));
    case Kind.Struct:
      return kids.map((c) => ({ name: c.name, variable: c, evaluateName: p && `${p}.${c.name}` }));
    case Kind.Array:
    case Kind.Slice:
      return kids.map((c, i) => ({ name: `[${i}]`, variable: c, evaluateName: p && `${p}[${i}]` }));
    case Kind.Map: {
      const out: Child[] = [];
      for (let i = 0; i + 1 < kids.length; i += 2) {
        const key = kids[i];
        const keyText = key.kind === Kind.String ? JSON.stringify(key.value) : formatValue(key);
        out.push({ name: `[${keyText}]`, variable: kids[i + 1], evaluateName: p && isScalar(key) ? `${p}[${keyText}]` : undefined });
      }
      return out;
    }
    case Kind.Interface:
      return kids.map((c) => ({ name: c.name || 'data', variable: c, evaluateName: p && `${p}.(${c.type})` }));
    default:
      return kids.map((c, i) => ({ name: c.name || `[${i}]`, variable: c, evaluateName: undefined }));
  }
}

function isScalar(v: Variable): boolean {
  return v.kind === Kind.String || (v.kind >= Kind.Bool && v.kind <= Kind.Uintptr);
}
