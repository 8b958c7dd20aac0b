// Users: search, paginate, create, edit role/groups, disable, reset password, delete.

import { useState } from 'react'
import type { FormEvent } from 'react'
import { Link, useSearchParams } from 'react-router-dom'
import type { Role, User } from '../api/types'
import { useApi } from '../auth'
import { ListShell } from '../components/ListShell'
import { Badge, ConfirmDialog, Field, FormError, Modal, fieldErrorsOf } from '../components/ui'
import { fmtTime } from '../format'
import { useQuery } from '../hooks'
import { PasswordRules } from '../components/PasswordRules'
import { nameError, passwordError, splitList } from '../validation'

const PER_PAGE = 25

type Dialog =
  | { kind: 'create' }
  | { kind: 'edit'; user: User }
  | { kind: 'password'; user: User }
  | { kind: 'disable'; user: User }
  | { kind: 'delete'; user: User }
  | { kind: 'mfa'; user: User }

export function UsersPage() {
  const api = useApi()
  const [params, setParams] = useSearchParams()
  const page = Math.max(1, Number(params.get('page') ?? '1') || 1)
  const q = params.get('q') ?? ''
  const [search, setSearch] = useState(q)
  const [dialog, setDialog] = useState<Dialog | null>(null)
  const [actionError, setActionError] = useState<unknown>(null)
  const list = useQuery(() => api.listUsers({ page, per_page: PER_PAGE, q: q || undefined }), [api, page, q])

  const go = (next: { page?: number; q?: string }) => {
    const p = new URLSearchParams(params)
    if (next.q !== undefined) {
      if (next.q) p.set('q', next.q)
      else p.delete('q')
      p.delete('page')
    }
    if (next.page !== undefined) p.set('page', String(next.page))
    setParams(p)
  }
  const onSearch = (e: FormEvent) => {
    e.preventDefault()
    go({ q: search.trim() })
  }
  const enable = async (user: User) => {
    setActionError(null)
    try {
      await api.updateUser(user.id, { disabled: false })
      list.reload()
    } catch (exc) {
      setActionError(exc)
    }
  }
  const close = () => setDialog(null)
  const done = () => {
    setDialog(null)
    list.reload()
  }

  return (
    <section>
      <div className="page-head">
        <h1>Users</h1>
        <button type="button" className="primary" onClick={() => setDialog({ kind: 'create' })}>
          New user
        </button>
      </div>
      <form className="toolbar" role="search" onSubmit={onSearch}>
        <label htmlFor="user-search" className="sr-only">
          Search users
        </label>
        <input
          id="user-search"
          type="search"
          placeholder="Search by username or email"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <button type="submit">Search</button>
        {q && (
          <button
            type="button"
            onClick={() => {
              setSearch('')
              go({ q: '' })
            }}
          >
            Clear
          </button>
        )}
      </form>
      <ListShell
        query={list}
        error={list.error ?? actionError}
        empty={q ? 'No user matches this search.' : 'No users yet. Create the first one.'}
        paging={{ page, perPage: PER_PAGE, onPage: (p) => go({ page: p }) }}
        columns={
          <>
            <th>Username</th>
            <th>Email</th>
            <th>Role</th>
            <th>Groups</th>
            <th>Status</th>
            <th>Sign-in</th>
            <th>Created</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </>
        }
        rowKey={(u) => String(u.id)}
        row={(u) => (
          <tr data-username={u.username}>
            <td>
              <strong>{u.username}</strong>
            </td>
            <td>{u.email ?? '—'}</td>
            <td>{u.role === 'admin' ? <Badge tone="warn">admin</Badge> : 'user'}</td>
            <td>{u.groups.length ? u.groups.join(', ') : '—'}</td>
            <td>{u.disabled ? <Badge tone="bad">disabled</Badge> : <Badge tone="good">active</Badge>}</td>
            <td>
              {u.sign_in_method === 'oidc' ? `SSO (${u.sso_provider ?? 'provider'})` : 'Password'}
              {u.totp_enabled && (
                <>
                  {' '}
                  <Badge tone="good">2FA</Badge>
                </>
              )}
            </td>
            <td className="nowrap">{fmtTime(u.created_at)}</td>
            <td className="row-actions">
              <Link to={`/devices?user_id=${encodeURIComponent(String(u.id))}`}>Devices</Link>
              <button type="button" className="button-small" onClick={() => setDialog({ kind: 'edit', user: u })}>
                Edit
              </button>
              <button type="button" className="button-small" onClick={() => setDialog({ kind: 'password', user: u })}>
                Reset password
              </button>
              {u.totp_enabled && (
                <button type="button" className="button-small" onClick={() => setDialog({ kind: 'mfa', user: u })}>
                  Reset two-factor
                </button>
              )}
              {u.disabled ? (
                <button type="button" className="button-small" onClick={() => void enable(u)}>
                  Enable
                </button>
              ) : (
                <button type="button" className="button-small" onClick={() => setDialog({ kind: 'disable', user: u })}>
                  Disable
                </button>
              )}
              <button type="button" className="button-small danger" onClick={() => setDialog({ kind: 'delete', user: u })}>
                Delete
              </button>
            </td>
          </tr>
        )}
      />

      {dialog?.kind === 'create' && <UserForm onClose={close} onSaved={done} />}
      {dialog?.kind === 'edit' && <UserForm user={dialog.user} onClose={close} onSaved={done} />}
      {dialog?.kind === 'password' && <PasswordForm user={dialog.user} onClose={close} onSaved={done} />}
      {dialog?.kind === 'disable' && (
        <ConfirmDialog
          title="Disable user"
          confirmLabel="Disable"
          onClose={close}
          onConfirm={async () => {
            await api.updateUser(dialog.user.id, { disabled: true })
            list.reload()
          }}
        >
          <p>
            Disable <strong>{dialog.user.username}</strong>? They cannot sign in, and every session they have
            ends at once.
          </p>
        </ConfirmDialog>
      )}
      {dialog?.kind === 'mfa' && (
        <ConfirmDialog
          title="Reset two-factor"
          confirmLabel="Reset two-factor"
          onClose={close}
          onConfirm={async () => {
            await api.resetUserMfa(dialog.user.id)
            list.reload()
          }}
        >
          <p>
            Turn off two-factor sign-in for <strong>{dialog.user.username}</strong> (for a lost phone)? Their
            recovery codes stop working; they sign in with their password alone until they set it up again.
          </p>
        </ConfirmDialog>
      )}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          title="Delete user"
          confirmLabel="Delete user"
          onClose={close}
          onConfirm={async () => {
            await api.deleteUser(dialog.user.id)
            list.reload()
          }}
        >
          <p>
            Delete <strong>{dialog.user.username}</strong> for good? Their devices are revoked at once (the gateways
            drop their traffic), their sessions end and they leave every policy. This cannot be undone; to keep the
            account, disable it instead.
          </p>
        </ConfirmDialog>
      )}
    </section>
  )
}

interface FormProps {
  user?: User
  onClose: () => void
  onSaved: () => void
}

function UserForm({ user, onClose, onSaved }: FormProps) {
  const api = useApi()
  const [username, setUsername] = useState(user?.username ?? '')
  const [email, setEmail] = useState(user?.email ?? '')
  const [password, setPassword] = useState('')
  const [role, setRole] = useState<Role>(user?.role ?? 'user')
  const [groups, setGroups] = useState(user?.groups.join(', ') ?? '')
  const [error, setError] = useState<unknown>(null)
  const [local, setLocal] = useState<Record<string, string>>({})
  const [busy, setBusy] = useState(false)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const problems: Record<string, string> = {}
    if (!user) {
      const bad = nameError(username)
      if (bad) problems.username = `Username ${bad}.`
      const badPassword = passwordError(password)
      if (badPassword) problems.password = badPassword
    }
    const groupList = splitList(groups)
    for (const g of groupList) {
      const bad = nameError(g)
      if (bad) problems.groups = `Group "${g.slice(0, 20)}" ${bad}.`
    }
    setLocal(problems)
    if (Object.keys(problems).length) return
    setBusy(true)
    setError(null)
    try {
      const mail = email.trim() || null
      if (user) await api.updateUser(user.id, { email: mail, role, groups: groupList })
      else await api.createUser({ username: username.trim(), password, email: mail, role, groups: groupList })
      onSaved()
    } catch (exc) {
      setError(exc)
      setBusy(false)
    }
  }
  const server = fieldErrorsOf(error)
  const err = (name: string) => local[name] ?? server[name]

  return (
    <Modal title={user ? `Edit ${user.username}` : 'New user'} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <FormError error={error} fields={['username', 'email', 'password', 'role', 'groups']} />
        {!user && (
          <Field label="Username" error={err('username')}>
            {(id, d) => (
              <input id={id} name="username" value={username} onChange={(e) => setUsername(e.target.value)} aria-describedby={d} autoComplete="off" />
            )}
          </Field>
        )}
        <Field label="Email" error={err('email')} hint="Optional.">
          {(id, d) => (
            <input id={id} name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} aria-describedby={d} />
          )}
        </Field>
        {!user && (
          <Field label="Password" error={err('password')}>
            {(id, d) => (
              <>
                <input
                  id={id}
                  name="password"
                  type="password"
                  autoComplete="new-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  aria-describedby={[d, `${id}-rules`].filter(Boolean).join(' ')}
                />
                <PasswordRules password={password} id={`${id}-rules`} />
              </>
            )}
          </Field>
        )}
        <Field label="Role" error={err('role')}>
          {(id, d) => (
            <select id={id} name="role" value={role} onChange={(e) => setRole(e.target.value as Role)} aria-describedby={d}>
              <option value="user">user</option>
              <option value="admin">admin</option>
            </select>
          )}
        </Field>
        <Field label="Groups" error={err('groups')} hint="Comma-separated, e.g. engineering, ops.">
          {(id, d) => (
            <input id={id} name="groups" value={groups} onChange={(e) => setGroups(e.target.value)} aria-describedby={d} />
          )}
        </Field>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Saving…' : user ? 'Save' : 'Create user'}
          </button>
        </div>
      </form>
    </Modal>
  )
}

function PasswordForm({ user, onClose, onSaved }: FormProps & { user: User }) {
  const api = useApi()
  const [password, setPassword] = useState('')
  const [error, setError] = useState<unknown>(null)
  const [local, setLocal] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const bad = passwordError(password)
    setLocal(bad)
    if (bad) return
    setBusy(true)
    setError(null)
    try {
      await api.updateUser(user.id, { password })
      onSaved()
    } catch (exc) {
      setError(exc)
      setBusy(false)
    }
  }
  return (
    <Modal title={`Reset password of ${user.username}`} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <FormError error={error} fields={['password']} />
        <Field label="New password" error={local ?? fieldErrorsOf(error).password}>
          {(id, d) => (
            <>
              <input
                id={id}
                name="password"
                type="password"
                autoComplete="new-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                aria-describedby={[d, `${id}-rules`].filter(Boolean).join(' ')}
              />
              <PasswordRules password={password} id={`${id}-rules`} />
            </>
          )}
        </Field>
        <p className="muted">Their sessions end at once; they sign in again with the new password.</p>
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !password}>
            Set password
          </button>
        </div>
      </form>
    </Modal>
  )
}
