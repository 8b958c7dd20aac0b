// Policies: who (users, groups) may reach which destination CIDRs; validated as the server does.

import { useState } from 'react'
import type { FormEvent } from 'react'
import type { Policy } from '../api/types'
import { MAX_PER_PAGE } from '../api/endpoints'
import { useApi } from '../auth'
import { ListShell } from '../components/ListShell'
import { Badge, ConfirmDialog, Field, FormError, Modal, fieldErrorsOf } from '../components/ui'
import { useLookups, useQuery } from '../hooks'
import type { Lookups } from '../hooks'
import { destinationsError, nameError, splitList } from '../validation'

const PER_PAGE = 50

type Dialog = { kind: 'create' } | { kind: 'edit'; policy: Policy } | { kind: 'delete'; policy: Policy }

export function PoliciesPage() {
  const api = useApi()
  const [page, setPage] = useState(1)
  const [dialog, setDialog] = useState<Dialog | null>(null)
  const [actionError, setActionError] = useState<unknown>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const lookups = useLookups()
  const list = useQuery(() => api.listPolicies({ page, per_page: PER_PAGE }), [api, page])

  const toggle = async (p: Policy) => {
    setActionError(null)
    try {
      await api.updatePolicy(p.id, { enabled: !p.enabled })
      setNotice(`Policy ${p.name} ${p.enabled ? 'disabled' : 'enabled'}. Devices it covers get the change within seconds.`)
      list.reload()
    } catch (exc) {
      setActionError(exc)
    }
  }
  const close = () => setDialog(null)
  const saved = (p: Policy) => {
    setDialog(null)
    setNotice(`Policy ${p.name} saved. Devices it covers get the change within seconds.`)
    list.reload()
  }

  return (
    <section>
      <div className="page-head">
        <h1>Policies</h1>
        <button type="button" className="primary" onClick={() => setDialog({ kind: 'create' })}>
          New policy
        </button>
      </div>
      <ListShell
        query={list}
        error={list.error ?? actionError}
        notice={
          notice && (
            <div className="alert alert-success" role="status">
              {notice}
            </div>
          )
        }
        empty="No policies yet. Without a policy, devices connect but reach nothing."
        paging={{ page, perPage: PER_PAGE, onPage: setPage }}
        columns={
          <>
            <th>Name</th>
            <th>Status</th>
            <th>Users</th>
            <th>Groups</th>
            <th>Destinations</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </>
        }
        rowKey={(p) => String(p.id)}
        row={(p) => (
          <tr data-policy={p.name}>
            <td>
              <strong>{p.name}</strong>
              {p.description && <div className="muted small">{p.description}</div>}
            </td>
            <td>{p.enabled ? <Badge tone="good">enabled</Badge> : <Badge tone="neutral">disabled</Badge>}</td>
            <td>{p.user_ids.length ? p.user_ids.map((id) => lookups.userName(id)).join(', ') : '—'}</td>
            <td>{p.groups.length ? p.groups.join(', ') : '—'}</td>
            <td className="mono">
              {p.destinations.map((c) => (
                <div key={c}>{c}</div>
              ))}
            </td>
            <td className="row-actions">
              <button type="button" className="button-small" onClick={() => setDialog({ kind: 'edit', policy: p })}>
                Edit
              </button>
              <button type="button" className="button-small" onClick={() => void toggle(p)}>
                {p.enabled ? 'Disable' : 'Enable'}
              </button>
              <button type="button" className="button-small danger" onClick={() => setDialog({ kind: 'delete', policy: p })}>
                Delete
              </button>
            </td>
          </tr>
        )}
      />
      {dialog?.kind === 'create' && <PolicyForm lookups={lookups} onClose={close} onSaved={saved} />}
      {dialog?.kind === 'edit' && <PolicyForm policy={dialog.policy} lookups={lookups} onClose={close} onSaved={saved} />}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          title="Delete policy"
          confirmLabel="Delete policy"
          onClose={close}
          onConfirm={async () => {
            await api.deletePolicy(dialog.policy.id)
            setNotice(`Policy ${dialog.policy.name} deleted.`)
            list.reload()
          }}
        >
          <p>
            Delete <strong>{dialog.policy.name}</strong>? Devices that reach destinations only through it lose them
            within seconds: the gateways drop that traffic and the clients remove the routes. To pause it instead,
            disable it.
          </p>
        </ConfirmDialog>
      )}
    </section>
  )
}

interface FormProps {
  policy?: Policy
  lookups: Lookups
  onClose: () => void
  onSaved: (policy: Policy) => void
}

export function PolicyForm({ policy, lookups, onClose, onSaved }: FormProps) {
  const api = useApi()
  const [name, setName] = useState(policy?.name ?? '')
  const [description, setDescription] = useState(policy?.description ?? '')
  const [enabled, setEnabled] = useState(policy?.enabled ?? true)
  const [userIds, setUserIds] = useState<Policy['user_ids']>(policy?.user_ids ?? [])
  const [groups, setGroups] = useState(policy?.groups.join(', ') ?? '')
  const [destinations, setDestinations] = useState(policy?.destinations.join('\n') ?? '')
  const [userFilter, setUserFilter] = useState('')
  const [local, setLocal] = useState<Record<string, string>>({})
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)

  const chosen = new Set(userIds.map(String))
  const toggleUser = (id: number) =>
    setUserIds((ids) => (ids.some((x) => String(x) === String(id)) ? ids.filter((x) => String(x) !== String(id)) : [...ids, id]))
  const visibleUsers = lookups.users.filter((u) => u.username.toLowerCase().includes(userFilter.trim().toLowerCase()))

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const problems: Record<string, string> = {}
    const nameProblem = nameError(name)
    if (nameProblem) problems.name = `Name ${nameProblem}.`
    const groupList = splitList(groups)
    for (const g of groupList) {
      const bad = nameError(g)
      if (bad) problems.groups = `Group "${g.slice(0, 20)}" ${bad}.`
    }
    const dests = splitList(destinations)
    const destProblem = destinationsError(dests)
    if (destProblem) problems.destinations = destProblem
    setLocal(problems)
    if (Object.keys(problems).length) return
    setBusy(true)
    setError(null)
    const body = {
      name: name.trim(),
      description: description.trim(),
      enabled,
      user_ids: userIds,
      groups: groupList,
      destinations: dests,
    }
    try {
      onSaved(policy ? await api.updatePolicy(policy.id, body) : await api.createPolicy(body))
    } catch (exc) {
      setError(exc)
      setBusy(false)
    }
  }
  const server = fieldErrorsOf(error)
  const err = (field: string) => local[field] ?? server[field]

  return (
    <Modal title={policy ? `Edit policy ${policy.name}` : 'New policy'} onClose={onClose} wide>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <FormError error={error} fields={['name', 'description', 'enabled', 'user_ids', 'groups', 'destinations']} />
        <Field label="Name" error={err('name')}>
          {(id, d) => <input id={id} name="name" value={name} onChange={(e) => setName(e.target.value)} aria-describedby={d} />}
        </Field>
        <Field label="Description" error={err('description')}>
          {(id, d) => (
            <input id={id} name="description" value={description} onChange={(e) => setDescription(e.target.value)} aria-describedby={d} />
          )}
        </Field>
        <label className="check">
          <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
        <fieldset className={err('user_ids') ? 'field field-invalid' : 'field'}>
          <legend>Users</legend>
          {lookups.users.length > 8 && (
            <input
              type="search"
              aria-label="Filter users"
              placeholder="Filter users"
              value={userFilter}
              onChange={(e) => setUserFilter(e.target.value)}
            />
          )}
          <div className="checklist">
            {lookups.users.length === 0 && <span className="muted">No users yet.</span>}
            {visibleUsers.map((u) => (
              <label key={String(u.id)} className="check">
                <input
                  type="checkbox"
                  name="user_ids"
                  value={String(u.id)}
                  checked={chosen.has(String(u.id))}
                  onChange={() => toggleUser(u.id)}
                />{' '}
                {u.username}
              </label>
            ))}
          </div>
          {lookups.users.length >= MAX_PER_PAGE && (
            <p className="field-hint">Showing the first {MAX_PER_PAGE} users; use groups for larger sets.</p>
          )}
          {err('user_ids') && (
            <p className="field-error" role="alert">
              {err('user_ids')}
            </p>
          )}
        </fieldset>
        <Field label="Groups" error={err('groups')} hint="Comma-separated group names.">
          {(id, d) => <input id={id} name="groups" value={groups} onChange={(e) => setGroups(e.target.value)} aria-describedby={d} />}
        </Field>
        <Field
          label="Destinations"
          error={err('destinations')}
          hint="One CIDR per line, e.g. 10.20.0.0/24 or fd00:20::/64; host bits must be zero. 0.0.0.0/0 makes a full tunnel."
        >
          {(id, d) => (
            <textarea
              id={id}
              name="destinations"
              rows={4}
              value={destinations}
              onChange={(e) => setDestinations(e.target.value)}
              aria-describedby={d}
              spellCheck={false}
            />
          )}
        </Field>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : policy ? 'Save' : 'Create policy'}
          </button>
        </div>
      </form>
    </Modal>
  )
}
