// Small shared pieces: errors, fields, loading/empty states, badges, copy (list pagination is in ListShell).

import { useEffect, useId, useRef, useState } from 'react'
import type { ReactNode } from 'react'
import { ApiError } from '../api/client'
import { errorText } from '../format'

/** An error from any call, in words, announced to screen readers. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null
  return (
    <div className="alert alert-error" role="alert">
      {errorText(error)}
    </div>
  )
}

/**
 * A form's error: the message at the top, plus any field messages the form has no field for
 * (messages for shown fields appear next to those fields instead).
 */
export function FormError({ error, fields }: { error: unknown; fields: string[] }) {
  if (!error) return null
  const all = error instanceof ApiError ? Object.entries(error.fieldErrors) : []
  const extra = all.filter(([name]) => !fields.includes(name))
  // The server's generic "The request is invalid." says nothing the marked fields do not.
  const shown = all.length - extra.length
  const generic = error instanceof ApiError && error.code === 'validation_error'
  const text =
    generic && shown > 0 && extra.length === 0
      ? shown === 1
        ? 'Please correct the field marked below.'
        : `Please correct the ${shown} fields marked below.`
      : errorText(error)
  return (
    <div className="alert alert-error" role="alert">
      <span>{text}</span>
      {extra.length > 0 && (
        <ul>
          {extra.map(([name, msg]) => (
            <li key={name}>
              {name}: {msg}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}

/** Field messages of an error ({} for errors that name no field). */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  return error instanceof ApiError ? error.fieldErrors : {}
}

interface FieldProps {
  label: string
  error?: string | undefined
  hint?: string
  children: (id: string, describedBy: string | undefined) => ReactNode
}

/** A labelled input with its hint and its error right under it. */
export function Field({ label, error, hint, children }: FieldProps) {
  const id = useId()
  const errorId = `${id}-error`
  const hintId = `${id}-hint`
  const describedBy = [error ? errorId : '', hint ? hintId : ''].filter(Boolean).join(' ') || undefined
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children(id, describedBy)}
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={errorId} role="alert">
          {error}
        </p>
      )}
    </div>
  )
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {what}…
    </p>
  )
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>
}

export function Badge({ tone, children }: { tone: 'good' | 'bad' | 'neutral' | 'warn'; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>
}

/** Copy text; falls back to selecting it where the clipboard API is unavailable (plain http). */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'done' | 'failed'>('idle')
  useEffect(() => {
    if (state === 'idle') return
    const t = setTimeout(() => setState('idle'), 2000)
    return () => clearTimeout(t)
  }, [state])
  const copy = async () => {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard')
      await navigator.clipboard.writeText(text)
      setState('done')
    } catch {
      setState('failed')
    }
  }
  return (
    <button type="button" className="button-small" onClick={() => void copy()}>
      {state === 'done' ? 'Copied' : state === 'failed' ? 'Select and copy manually' : label}
    </button>
  )
}

interface ModalProps {
  title: string
  onClose: () => void
  children: ReactNode
  wide?: boolean
}

/** A dialog over the page; Escape closes it. */
export function Modal({ title, onClose, children, wide }: ModalProps) {
  const titleId = useId()
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose()
    }
    document.addEventListener('keydown', onKey)
    box.current?.querySelector<HTMLElement>('input, select, textarea, button')?.focus()
    return () => document.removeEventListener('keydown', onKey)
  }, [onClose])
  return (
    <div className="modal-backdrop">
      <div
        className={wide ? 'modal modal-wide' : 'modal'}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        ref={box}
      >
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </div>
  )
}

interface ConfirmProps {
  title: string
  confirmLabel: string
  onConfirm: () => Promise<void>
  onClose: () => void
  children: ReactNode
}

/** Ask before a destructive action; the API's error stays in the dialog. */
export function ConfirmDialog({ title, confirmLabel, onConfirm, onClose, children }: ConfirmProps) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const confirm = async () => {
    setBusy(true)
    setError(null)
    try {
      await onConfirm()
      onClose()
    } catch (exc) {
      setError(exc)
      setBusy(false)
    }
  }
  return (
    <Modal title={title} onClose={onClose}>
      <div className="confirm-body">{children}</div>
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={() => void confirm()} disabled={busy}>
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </Modal>
  )
}
