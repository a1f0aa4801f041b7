/**
 * A small, strict XML reader for the slicer's metadata files (`slice_info.config`,
 * `model_settings.config`): elements and their attributes, nothing else. Text content is
 * skipped, entities beyond the five predefined and numeric ones are refused, and a
 * DOCTYPE is refused outright, so there is nothing to expand and nothing to fetch.
 */

export interface XmlElement {
  name: string
  attributes: Record<string, string>
  children: XmlElement[]
}

export class XmlError extends Error {
  override readonly name = 'XmlError'
}

export interface XmlLimits {
  maxDepth: number
  maxElements: number
}

const LIMITS: XmlLimits = { maxDepth: 64, maxElements: 1_000_000 }
const NAME = /[A-Za-z_:][\w.:-]*/y
const ATTRIBUTE = /\s*([A-Za-z_:][\w.:-]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

function decode(text: string): string {
  return text.replace(/&(?:([^;&\s]{1,10});)?/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new XmlError('a bare & in an attribute value')
    if (Object.hasOwn(ENTITIES, ref)) return ENTITIES[ref]!
    const code = ref.startsWith('#x') ? Number.parseInt(ref.slice(2), 16) : ref.startsWith('#') ? Number.parseInt(ref.slice(1), 10) : Number.NaN
    if (!Number.isInteger(code) || code < 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new XmlError(`unknown entity ${whole}`)
    return String.fromCodePoint(code)
  })
}

/** Parses a document into its root element. Throws XmlError when it is not well-formed. */
export function parseXml(text: string, limits: XmlLimits = LIMITS): XmlElement {
  const root: XmlElement = { name: '#document', attributes: {}, children: [] }
  const stack: XmlElement[] = [root]
  let count = 0
  let i = 0
  const fail = (why: string): never => {
    throw new XmlError(`${why} at offset ${i}`)
  }
  while (i < text.length) {
    const lt = text.indexOf('<', i)
    if (lt < 0) break
    i = lt
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2)
      if (end < 0) fail('unterminated processing instruction')
      i = end + 2
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4)
      if (end < 0) fail('unterminated comment')
      i = end + 3
    } else if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9)
      if (end < 0) fail('unterminated CDATA section')
      i = end + 3
    } else if (text.startsWith('<!', i)) {
      fail('DOCTYPE and declarations are not accepted')
    } else if (text.startsWith('</', i)) {
      NAME.lastIndex = i + 2
      const m = NAME.exec(text) ?? fail('bad closing tag')
      const open = stack.pop()!
      if (stack.length === 0 || open.name !== m[0]) fail(`</${m[0]}> does not close <${open.name}>`)
      i = NAME.lastIndex
      while (/\s/.test(text[i] ?? '')) i++
      if (text[i] !== '>') fail('bad closing tag')
      i++
    } else {
      NAME.lastIndex = i + 1
      const m = NAME.exec(text) ?? fail('bad tag')
      const element: XmlElement = { name: m[0], attributes: {}, children: [] }
      i = NAME.lastIndex
      for (;;) {
        ATTRIBUTE.lastIndex = i
        const a = ATTRIBUTE.exec(text)
        if (!a) break
        if (Object.hasOwn(element.attributes, a[1]!)) fail(`attribute ${a[1]} given twice`)
        element.attributes[a[1]!] = decode(a[2] ?? a[3] ?? '')
        i = ATTRIBUTE.lastIndex
      }
      while (/\s/.test(text[i] ?? '')) i++
      const selfClosing = text.startsWith('/>', i)
      if (!selfClosing && text[i] !== '>') fail(`bad tag <${element.name}>`)
      i += selfClosing ? 2 : 1
      if (++count > limits.maxElements) fail('too many elements')
      const parent = stack.at(-1)!
      if (parent === root && root.children.length > 0) fail('more than one root element')
      parent.children.push(element)
      if (!selfClosing) {
        stack.push(element)
        if (stack.length > limits.maxDepth) fail('nested too deeply')
      }
    }
  }
  if (stack.length !== 1) throw new XmlError(`<${stack.at(-1)!.name}> is never closed`)
  const [top] = root.children
  if (!top) throw new XmlError('no root element')
  return top
}

/** The direct children of an element with a given name. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name)
}
