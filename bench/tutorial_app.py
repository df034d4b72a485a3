"""`tutorial`: GET /me as the FastAPI tutorials write it, with none of gql-auth's code.

What people compare us with: python-jose decodes the bearer token (checking
the signature, `exp`, `iss` and `aud`), a `def` dependency opens a sync
SQLAlchemy Session per request, `session.get(User, id)` loads the user and a
pydantic model shapes the answer. It reads gql-auth's `users` table through
its own small mapping, with the service's SECRET_KEY, JWT_ISSUER and
JWT_AUDIENCE. Like the tutorials, it checks no session: a revoked token
still works here until it expires, which gql-auth's contract forbids.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordBearer
from jose import JWTError, jwt
from pydantic import BaseModel
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

SECRET_KEY = os.environ["SECRET_KEY"]
ALGORITHM = "HS256"
ISSUER = os.environ.get("JWT_ISSUER", "gql-auth")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "gql-auth")
# The drivers the tutorials name: PyMySQL, and psycopg 3 as the FastAPI project template has it.
DATABASE_URL = (
    os.environ["DATABASE_URL"]
    .replace("mysql://", "mysql+pymysql://", 1)
    .replace("postgresql://", "postgresql+psycopg://", 1)
)

connect_args = {"check_same_thread": False} if DATABASE_URL.startswith("sqlite") else {}
engine = create_engine(DATABASE_URL, connect_args=connect_args, pool_pre_ping=True)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")
app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool]


class UserOut(BaseModel):
    id: str
    username: str
    role: str


def get_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def get_current_user(
    token: Annotated[str, Depends(oauth2_scheme)], db: Annotated[Session, Depends(get_db)]
) -> UserRow:
    unauthorized = HTTPException(401, "Could not validate credentials")
    try:
        payload = jwt.decode(
            token, SECRET_KEY, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER
        )
    except JWTError:
        raise unauthorized from None
    user = db.get(UserRow, int(payload["sub"]))
    if user is None or not user.is_active:
        raise unauthorized
    return user


@app.get("/me", response_model=UserOut)
def read_me(current_user: Annotated[UserRow, Depends(get_current_user)]) -> UserOut:
    return UserOut(id=str(current_user.id), username=current_user.username, role=current_user.role)
